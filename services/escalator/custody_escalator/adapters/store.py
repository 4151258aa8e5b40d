"""Escalation state in KV `escalations`, with compare-and-set on the revision and an outbox.

The document is the escalation's fields at top level (the notifier reads `state` and `epoch`),
plus `outbox` (messages decided but not yet confirmed published) and `applied` (recent input
ids, so a redelivered input only re-flushes the outbox instead of applying twice).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from nats.js.kv import KeyValue
from pydantic import BaseModel, ConfigDict

from custody.bus.kv import read_json, write_cas
from custody_escalator.domain.state import Escalation

APPLIED_KEEP = 64


class OutboxItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: str
    type_name: str
    event_id: str
    payload: str
    headers: dict[str, str] = {}


@dataclass
class Stored:
    escalation: Escalation | None
    revision: int | None
    outbox: list[OutboxItem] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)


class Conflict(Exception):
    """Someone else wrote first: reload and decide again."""


class EscalationStore:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def load(self, escalation_id: str) -> Stored:
        doc, revision = await read_json(self.kv, escalation_id)
        if doc is None:
            return Stored(None, None)
        outbox = [OutboxItem.model_validate(item) for item in doc.pop("outbox", [])]
        applied = list(doc.pop("applied", []))
        return Stored(Escalation.model_validate(doc), revision, outbox, applied)

    async def save(self, stored: Stored, escalation: Escalation) -> int:
        """Create (revision None) or update at exactly `stored.revision`; Conflict otherwise."""
        doc = escalation.model_dump(mode="json")
        doc["outbox"] = [item.model_dump() for item in stored.outbox]
        doc["applied"] = stored.applied[-APPLIED_KEEP:]
        value = json.dumps(doc).encode()
        revision = await write_cas(self.kv, escalation.escalation_id, value, stored.revision)
        if revision is None:
            raise Conflict(escalation.escalation_id)
        return revision
