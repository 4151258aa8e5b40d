"""Dedup across a key's life: open, seen again, resolved, reopened as the next generation."""

from __future__ import annotations

import pytest

from custody_intake.domain.dedup import (
    DedupRecord,
    current,
    is_retry_of_opener,
    next_generation,
    reopens,
)
from custody_intake.domain.identity import escalation_id


def test_without_a_record_the_key_is_in_generation_zero() -> None:
    record = current(None, "monitor-1", "k")
    assert (record.generation, record.escalation_id) == (0, escalation_id("monitor-1", "k"))


@pytest.mark.parametrize(
    ("state", "reopen"),
    [
        (None, False),  # accepted, not routed yet: still the same escalation
        ("open", False),
        ("offered", False),
        ("accepted", False),
        ("deferred", False),
        ("digest", False),
        ("muted", False),  # paging stopped, but someone still holds it
        ("resolved", True),
    ],
)
def test_only_a_resolved_escalation_gives_way_to_a_new_one(state: str | None, reopen: bool) -> None:
    assert reopens(state) is reopen


def test_the_next_generation_names_a_new_escalation_with_a_fresh_count() -> None:
    first = DedupRecord("m", "k", 0, escalation_id("m", "k"), opened_by="input-a")
    after = next_generation(first, "input-b")
    assert (after.generation, after.opened_by) == (1, "input-b")
    assert after.escalation_id == escalation_id("m", "k", 1) != first.escalation_id
    assert next_generation(after, "input-c").escalation_id == escalation_id("m", "k", 2)


def test_only_the_opening_input_is_its_own_retry() -> None:
    record = DedupRecord("m", "k", 0, escalation_id("m", "k"), opened_by="input-a")
    assert is_retry_of_opener(record, "input-a")
    assert not is_retry_of_opener(record, "input-b")
    assert not is_retry_of_opener(current(None, "m", "k"), "input-a")


def test_the_record_survives_its_json_round_trip() -> None:
    record = DedupRecord("m", "k", 3, "esc-x", opened_by="input-a")
    assert DedupRecord.from_json(record.to_json()) == record
