"""Coalesces concurrently recorded facts into one Postgres transaction.

Each ledger durable hands a whole fetch to `record_many`, which waits for the shared
transaction: a short window collects it (and any other durable's fetch), then the writer
appends them all in ONE transaction. Every waiter learns the same outcome, so each message is
acked only after COMMIT, or nakked when the write failed.

Why not FastStream's `PullSub(batch=True)`: in faststream 0.7.8 its batch loop keeps
fetching to fill the batch and catches only `nats.errors.TimeoutError`, while nats-py's
follow-up fetch can raise the builtin `asyncio.TimeoutError`; the loop then dies and drops
the messages it had already fetched, which sit unacked for the full ack_wait (30 s). The
ledger's own loops are in handlers.py.
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
        self._pending: list[tuple[Sequence[Fact], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def record(self, fact: Fact) -> None:
        """Returns once `fact` is committed (or was already); raises if the write failed."""
        await self.record_many([fact])

    async def record_many(self, facts: Sequence[Fact]) -> None:
        """Returns once all of `facts` are committed (or were already), in one transaction;
        raises if the write failed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((facts, done))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_soon())
        await done

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self._window_s)
        batch, self._pending, self._flusher = self._pending, [], None
        try:
            facts = [fact for group, _ in batch for fact in group]
            new = await self._writer.append(facts)
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
            self._observer.batch(new, len(facts))
        if new:
            log.info("ledger.recorded", new=new, duplicates=len(facts) - new)
