"""Identities are deterministic; generation 0 keeps the id raised before reopening existed."""

from __future__ import annotations

import hashlib

from custody_intake.domain.identity import escalation_id, seen_again_event_id, source_command_id


def test_generation_zero_is_the_original_formula() -> None:
    legacy = "esc-" + hashlib.sha256(b"monitor-1\x00checkout-5xx").hexdigest()[:12]
    assert escalation_id("monitor-1", "checkout-5xx") == legacy
    assert escalation_id("monitor-1", "checkout-5xx", 0) == legacy


def test_each_generation_is_a_distinct_stable_escalation() -> None:
    ids = [escalation_id("monitor-1", "k", generation) for generation in range(5)]
    assert len(set(ids)) == 5
    assert ids == [escalation_id("monitor-1", "k", generation) for generation in range(5)]


def test_source_and_key_are_not_confused_by_concatenation() -> None:
    assert escalation_id("ab", "c") != escalation_id("a", "bc")


def test_retries_name_the_same_facts_and_other_inputs_do_not() -> None:
    assert seen_again_event_id("esc-1", "body") == seen_again_event_id("esc-1", "body")
    assert seen_again_event_id("esc-1", "body") != seen_again_event_id("esc-1", "other")
    assert source_command_id("esc-1", "resolve", "x") != source_command_id("esc-2", "resolve", "x")
    assert source_command_id("esc-1", "ack", "x") != source_command_id("esc-1", "resolve", "x")
