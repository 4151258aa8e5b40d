"""Coalesces concurrently handled messages into one Postgres transaction.

A pull subscriber with `PullSub(batch_size=N)` fetches up to N messages at once and runs
their handlers concurrently. Each handler hands its fact to `record`, which waits for the
shared transaction: a short window collects the whole fetch (and any other consumer's
facts), then the writer appends them all in ONE transaction. Every waiter learns the same
outcome, so each message is acked only after COMMIT, or nakked when the write failed.

Why not FastStream's `PullSub(batch=True)`: in faststream 0.7.8 its batch loop keeps
fetching to fill the batch and catches only `nats.errors.TimeoutError`, while nats-py's
follow-up fetch can raise the builtin `asyncio.TimeoutError`; the loop then dies and drops
the messages it had already fetched, which sit unacked for the full ack_wait (30 s).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

import structlog

from custody_ledger.domain.facts import Fact

log = structlog.get_logger(__name__)


class Writer(Protocol):
    async def append(self, facts: Sequence[Fact]) -> int: ...


class Observer(Protocol):
    """Told about every transaction (metrics.LedgerMetrics is one)."""

    def batch(self, new: int, total: int) -> None: ...
    def batch_failed(self) -> None: ...


class BatchedWriter:
    def __init__(
        self, writer: Writer, *, window_s: float = 0.005, observer: Observer | None = None
    ) -> None:
        self._writer = writer
        self._window_s = window_s
        self._observer = observer
        self._pending: list[tuple[Fact, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def record(self, fact: Fact) -> None:
        """Returns once `fact` is committed (or was already); raises if the write failed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((fact, done))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_soon())
        await done

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self._window_s)
        batch, self._pending, self._flusher = self._pending, [], None
        try:
            new = await self._writer.append([fact for fact, _ in batch])
        except BaseException as exc:
            log.warning("ledger.batch_failed", size=len(batch), error=repr(exc))
            if self._observer is not None:
                self._observer.batch_failed()
            failure = exc if isinstance(exc, Exception) else RuntimeError("ledger stopping")
            for _, done in batch:
                if not done.done():
                    done.set_exception(failure)
            if not isinstance(exc, Exception):
                raise
            return
        for _, done in batch:
            if not done.done():
                done.set_result(None)
        if self._observer is not None:
            self._observer.batch(new, len(batch))
        if new:
            log.info("ledger.recorded", new=new, duplicates=len(batch) - new)
