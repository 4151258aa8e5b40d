"""Heartbeats: silent past the interval (plus a little grace) raises once per silence."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from custody.contracts import Severity
from custody_intake.domain.heartbeat import (
    Declaration,
    Heartbeat,
    check_name,
    episode_key,
    grace_s,
    overdue,
    pinged,
    silence_event,
)
from custody_intake.domain.rejection import Refused

T0 = datetime(2026, 3, 29, 0, 59, 58, tzinfo=UTC)  # across the EU DST switch: UTC is unaffected
HB = Heartbeat("monitor-1", "nightly-backup", 60.0, T0)


@pytest.mark.parametrize(
    ("name", "ok"),
    [("backup", True), ("a.b-c_d", True), ("-x", False), ("a b", False), ("x" * 129, False)],
)
def test_names(name: str, ok: bool) -> None:
    if ok:
        check_name(name)
    else:
        with pytest.raises(Refused):
            check_name(name)


@pytest.mark.parametrize(
    ("after_s", "is_overdue"),
    [(59.0, False), (60.0, False), (62.9, False), (63.0, True), (600.0, True)],
)
def test_overdue_after_the_interval_plus_grace_of_at_most_3s(
    after_s: float, is_overdue: bool
) -> None:
    assert overdue(HB, T0 + timedelta(seconds=after_s)) is is_overdue


def test_grace_is_a_tenth_of_the_interval_but_at_most_3s() -> None:
    assert grace_s(2.0) == pytest.approx(0.2)
    assert grace_s(3600.0) == 3.0


def test_a_silence_already_raised_is_not_raised_again() -> None:
    raised = replace(HB, silent_escalation="esc-1")
    assert not overdue(raised, T0 + timedelta(hours=5))


def test_every_replica_derives_the_same_silence_incident() -> None:
    copy = Heartbeat.from_json(HB.to_json())
    assert silence_event(copy) == silence_event(HB)
    assert episode_key(copy) == episode_key(HB)
    event = silence_event(HB)
    assert event.title == "nightly-backup went silent"
    assert event.source == "monitor-1"
    assert event.occurred_at == T0 + timedelta(seconds=60)


def test_each_silence_is_its_own_episode() -> None:
    later = replace(HB, last_ping_at=T0 + timedelta(minutes=10))
    assert episode_key(later) != episode_key(HB)


def test_the_first_ping_must_declare_an_interval() -> None:
    with pytest.raises(Refused) as caught:
        pinged(None, "m", "x", Declaration(), T0)
    refusal = caught.value.rejection
    assert (refusal.status, refusal.error_code, refusal.field) == (404, "not_declared", "interval")
    hb, resolves = pinged(None, "m", "x", Declaration(30.0, Severity.YELLOW, "db"), T0)
    assert (hb.interval_s, hb.severity, hb.service, resolves) == (30.0, Severity.YELLOW, "db", None)


def test_a_ping_after_a_raised_silence_resolves_it() -> None:
    raised = replace(HB, silent_escalation="esc-1")
    later = T0 + timedelta(minutes=5)
    hb, resolves = pinged(raised, "monitor-1", "nightly-backup", Declaration(), later)
    assert resolves == "esc-1"
    assert (hb.silent_escalation, hb.last_ping_at, hb.interval_s) == (None, later, 60.0)


def test_a_ping_may_change_the_interval() -> None:
    hb, _ = pinged(HB, "monitor-1", "nightly-backup", Declaration(interval_s=5.0), T0)
    assert hb.interval_s == 5.0
