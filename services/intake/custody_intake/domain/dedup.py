"""Dedup across a (source, dedup_key)'s life: while its escalation is open an event updates it;
once resolved, the same key opens the next generation, a new escalation.

The record lives in KV `dedup`, written by compare-and-set only when a key reopens; no record
means generation 0. Sightings are counted by the stream, not here (see raising.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from custody_intake.domain.identity import escalation_id

REOPENING_STATE = "resolved"  # the only state after which the same key opens a new escalation


@dataclass(frozen=True)
class DedupRecord:
    source: str
    dedup_key: str
    generation: int
    escalation_id: str
    opened_by: str | None = None  # the idempotency token of the input that opened it

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "dedup_key": self.dedup_key,
            "generation": self.generation,
            "escalation_id": self.escalation_id,
            "opened_by": self.opened_by,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DedupRecord:
        return cls(
            source=str(data["source"]),
            dedup_key=str(data["dedup_key"]),
            generation=int(data["generation"]),
            escalation_id=str(data["escalation_id"]),
            opened_by=data.get("opened_by"),
        )


def current(record: DedupRecord | None, source: str, dedup_key: str) -> DedupRecord:
    """The generation in force; without a record, generation 0 and today's escalation id."""
    if record is not None:
        return record
    return DedupRecord(source, dedup_key, 0, escalation_id(source, dedup_key))


def reopens(state: str | None) -> bool:
    """Only a resolved escalation gives way to a new one. A muted, deferred or digested one is
    still someone's to finish; an absent one is accepted but not routed yet."""
    return state == REOPENING_STATE


def next_generation(record: DedupRecord, opened_by: str) -> DedupRecord:
    generation = record.generation + 1
    return DedupRecord(
        record.source,
        record.dedup_key,
        generation,
        escalation_id(record.source, record.dedup_key, generation),
        opened_by,
    )


def is_retry_of_opener(record: DedupRecord, idempotency: str) -> bool:
    """The sender retrying the input that opened the escalation: not a second sighting."""
    return record.opened_by == idempotency
