"""Reading the REJECTED stream back, newest first, for `custody rejected`."""

from __future__ import annotations

import json
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from custody import subjects

SCAN_WINDOW = 5000  # how far back a filtered listing looks, in stream messages


class RejectionLog:
    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def recent(self, limit: int, source: str | None) -> list[dict[str, Any]]:
        info = await self.js.stream_info(subjects.REJECTED)
        first, last = int(info.state.first_seq), int(info.state.last_seq)
        if last == 0 or last < first:
            return []
        if source is None:
            return await self._backwards(first, last, limit)
        return await self._filtered(max(first, last - SCAN_WINDOW + 1), limit, source)

    async def _backwards(self, first: int, last: int, limit: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        seq = last
        while seq >= first and len(rows) < limit:
            try:
                msg = await self.js.get_msg(subjects.REJECTED, seq)
            except NotFoundError:  # removed by age or limits
                seq -= 1
                continue
            rows.append(_row(msg.data, msg.seq))
            seq -= 1
        return rows

    async def _filtered(self, start: int, limit: int, source: str) -> list[dict[str, Any]]:
        """Forward from `start`, jumping straight to the next message on the source's subject
        (the server does the scan); keep the newest `limit`."""
        subject = subjects.rejected(source)
        rows: list[dict[str, Any]] = []
        seq = start
        while True:
            try:
                msg = await self.js.get_msg(subjects.REJECTED, seq, subject=subject, next=True)
            except NotFoundError:
                break
            rows.append(_row(msg.data, msg.seq))
            seq = int(msg.seq or seq) + 1
        return list(reversed(rows[-limit:]))


def _row(data: bytes | None, seq: int | None) -> dict[str, Any]:
    fact: dict[str, Any] = json.loads(data or b"{}")
    return {
        "seq": seq,
        "at": fact.get("occurred_at"),
        "source": fact.get("source", ""),
        "error_code": fact.get("error_code", ""),
        "field": fact.get("field", ""),
        "message": fact.get("message", ""),
        "body_sha256": fact.get("body_sha256", ""),
        "body_head": fact.get("body_head", ""),
    }
