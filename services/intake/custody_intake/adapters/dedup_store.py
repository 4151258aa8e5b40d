"""The dedup record of each (source, dedup_key) in KV `dedup`, written by compare-and-set, and
a read-only look at the escalator's KV `escalations` to learn whether it was resolved."""

from __future__ import annotations

import json
from typing import Any

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from custody.bus.kv import read_json, write_cas
from custody_intake.domain.dedup import DedupRecord
from custody_intake.domain.identity import dedup_record_key


class DedupStore:
    def __init__(self, dedup: KeyValue, escalations: KeyValue) -> None:
        self.dedup = dedup
        self.escalations = escalations

    async def load(self, source: str, dedup_key: str) -> tuple[DedupRecord | None, int | None]:
        """The record and its revision; (None, None) while the key is in generation 0."""
        document, revision = await read_json(self.dedup, dedup_record_key(source, dedup_key))
        return (DedupRecord.from_json(document), revision) if document else (None, None)

    async def write(self, record: DedupRecord, revision: int | None) -> bool:
        """Create (no revision) or update at exactly `revision`. False: someone wrote first."""
        key = dedup_record_key(record.source, record.dedup_key)
        value = json.dumps(record.to_json()).encode()
        return await write_cas(self.dedup, key, value, revision) is not None

    async def state_of(self, escalation_id: str) -> str | None:
        """The escalator's `state` for the escalation, or None before it has one (accepted,
        not yet routed). The escalator owns the document; intake only reads it."""
        try:
            entry = await self.escalations.get(escalation_id)
        except KeyNotFoundError:
            return None
        if entry.value is None:
            return None
        doc: dict[str, Any] = json.loads(entry.value)
        state = doc.get("state")
        return str(state) if state is not None else None
