"""Channel adapters: the `Channel` protocol, what a failed send means, the dev sink, and the
choice between real providers and the sink, made from the environment.

What `send` may raise, and what the notifier then does (README: "Never twice"):
- `DeliveryFailed`: the provider definitely did not deliver, and retrying will not help
  (bad number, unknown mailbox, 4xx). The page is failed and falls back to the next channel.
- `RetryLater`: it definitely did not deliver, but may later (429, SMTP 4xx, connection
  refused, or a 5xx from a provider that honours our idempotency key). The page waits.
- anything else: the outcome is unknown, so the page is in doubt and never resent.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from custody import clock
from custody_notifier.domain.render import RenderedPage

CHANNEL_NAMES = ("sms", "email", "chat", "webhook")


class DeliveryFailed(Exception):
    """The provider definitely did not deliver (rejected, invalid address, refused before
    sending). Any *other* exception from `send` means the outcome is unknown: in doubt."""


class RetryLater(Exception):
    """The provider definitely did not deliver this time; try again after `after_s`.
    `provider_wide`: the provider throttles us as a whole (429), so every page waits."""

    def __init__(self, after_s: float, why: str, *, provider_wide: bool = False) -> None:
        super().__init__(why)
        self.after_s = after_s
        self.provider_wide = provider_wide


class Channel(Protocol):
    async def send(self, page: RenderedPage, address: str, idempotency_key: str) -> str:
        """Deliver one page; return the provider's id for it. Raise `DeliveryFailed` only
        when it is certain nothing went out."""
        ...


def throttle_window_s(channel: Channel) -> float:
    """A channel may declare `throttle_s`: at most one send per address per that window."""
    value = getattr(channel, "throttle_s", 0.0)
    return float(value) if isinstance(value, int | float) else 0.0


class JsonLinesSink:
    """Dev and test provider: appends one JSON line per page and fsyncs it, so a page the
    sink reported as sent survives a crash and can be counted afterwards.

    Group commit: pages that arrive while a write is in progress are written together by
    the next one, with one fsync, and each `send` returns only once its own line is synced.
    One writer at a time, so lines never interleave."""

    def __init__(self, path: Path, now: Callable[[], datetime] = clock.now) -> None:
        self.path = path
        self._now = now
        self._pending: list[tuple[str, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def send(self, page: RenderedPage, address: str, idempotency_key: str) -> str:
        provider_id = "sink-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
        line = json.dumps(
            {
                "page_id": page.page_id,
                "escalation_id": page.escalation_id,
                "recipient": page.recipient,
                "channel": page.channel,
                "address": address,
                "level": page.level,
                "attempt": page.attempt,
                "kind": page.kind,
                "subject": page.subject,
                "body": page.body,
                "sent_at": self._now().isoformat(),
                "idempotency_key": idempotency_key,
                "provider_id": provider_id,
            },
            ensure_ascii=False,
        )
        synced: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((line, synced))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_pending())
        await synced
        return provider_id

    async def _write_pending(self) -> None:
        batch: list[tuple[str, asyncio.Future[None]]] = []
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    await asyncio.to_thread(self._append, "".join(f"{line}\n" for line, _ in batch))
                except Exception as exc:
                    _settle(batch, exc)
                else:
                    _settle(batch, None)
        finally:  # cancelled mid-write: nobody may wait forever (the pages are in doubt)
            for _, future in batch + self._pending:
                future.cancel()
            self._pending = []

    def _append(self, lines: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(lines)
            out.flush()
            os.fsync(out.fileno())


def _settle(batch: list[tuple[str, asyncio.Future[None]]], error: Exception | None) -> None:
    for _, future in batch:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


def dev_channels(sink_path: Path) -> Mapping[str, Channel]:
    """Every channel name delivers to the one dev sink (`custody up`)."""
    sink = JsonLinesSink(sink_path)
    return dict.fromkeys(CHANNEL_NAMES, sink)


@dataclass(frozen=True)
class Channels:
    """Where pages go, and where notices and batches go. With real providers both are the
    same adapters; in dev, notices get their own file so pages.jsonl holds only pages."""

    pages: Mapping[str, Channel]
    notices: Mapping[str, Channel]

    @classmethod
    def same(cls, channels: Mapping[str, Channel]) -> Channels:
        return cls(channels, channels)
