"""Channel adapters: the `Channel` protocol and the dev sink every channel uses for now."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Protocol

from custody import clock
from custody_notifier.domain.render import RenderedPage

CHANNEL_NAMES = ("sms", "email", "chat", "webhook")


class DeliveryFailed(Exception):
    """The provider definitely did not deliver (rejected, invalid address, refused before
    sending). Any *other* exception from `send` means the outcome is unknown: in doubt."""


class Channel(Protocol):
    async def send(self, page: RenderedPage, address: str, idempotency_key: str) -> str:
        """Deliver one page; return the provider's id for it. Raise `DeliveryFailed` only
        when it is certain nothing went out."""
        ...


class JsonLinesSink:
    """Dev and test provider: appends one JSON line per page and fsyncs it, so a page the
    sink reported as sent survives a crash and can be counted afterwards."""

    def __init__(self, path: Path, now: Callable[[], datetime] = clock.now) -> None:
        self.path = path
        self._now = now
        self._lock = asyncio.Lock()  # one writer at a time: lines never interleave

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
                "subject": page.subject,
                "body": page.body,
                "sent_at": self._now().isoformat(),
                "idempotency_key": idempotency_key,
                "provider_id": provider_id,
            },
            ensure_ascii=False,
        )
        async with self._lock:
            await asyncio.to_thread(self._append, line)
        return provider_id

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())


def dev_channels(sink_path: Path) -> Mapping[str, Channel]:
    """Every channel name delivers to the one dev sink until real adapters exist."""
    sink = JsonLinesSink(sink_path)
    return dict.fromkeys(CHANNEL_NAMES, sink)
