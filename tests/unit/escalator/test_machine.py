"""The custody state machine, table-driven, with `now` passed in."""

from __future__ import annotations

from datetime import timedelta

import pytest

from custody.contracts import CommandIssued
from custody_escalator.domain import machine
from custody_escalator.domain.decisions import Answer, ArmTimer, CancelTimer, Page, Record
from custody_escalator.domain.state import LEVEL_TIMER, Escalation, Timings

from .conftest import T0, routed

ADMINS = ("dave",)


def command(action: str, actor: str, **extra: str) -> CommandIssued:
    return CommandIssued(
        event_id=f"command:{action}-{actor}",
        escalation_id="esc-000000000001",
        occurred_at=T0,
        command_id=f"{action}-{actor}",
        action=action,  # type: ignore[arg-type]
        actor=actor,
        **extra,  # type: ignore[arg-type]
    )


def opened() -> Escalation:
    esc, _ = machine.open_escalation(routed(), ADMINS, Timings(), T0)
    return esc


def pages(decisions: list[object]) -> list[Page]:
    return [d for d in decisions if isinstance(d, Page)]


def test_open_offers_level_one_pages_once_and_arms_its_timer() -> None:
    esc, decisions = machine.open_escalation(routed(), ADMINS, Timings(), T0)
    assert (esc.state, esc.custodian, esc.epoch, esc.version) == ("offered", "bob", 1, 1)
    assert pages(decisions) == [Page("bob", "sms", 1, 1)]
    assert ArmTimer(LEVEL_TIMER, T0 + timedelta(seconds=60)) in decisions
    assert [d.change for d in decisions if isinstance(d, Record)] == ["offered"]


def test_green_goes_to_the_digest_and_never_pages() -> None:
    esc, decisions = machine.open_escalation(routed(channels=("digest",)), ADMINS, Timings(), T0)
    assert esc.state == "digest"
    assert pages(decisions) == []
    assert esc.reason


@pytest.mark.parametrize(
    ("epoch_delta", "state_change", "advances"),
    [
        (0, None, True),  # current timer: climb to level 2
        (-1, None, False),  # stale epoch: dropped
        (1, None, False),  # future epoch cannot exist: dropped
        (0, "ack", False),  # acked: the timer is fenced by the new epoch
    ],
)
def test_timer_fires_only_for_the_current_epoch(
    epoch_delta: int, state_change: str | None, advances: bool
) -> None:
    esc = opened()
    fired_epoch = esc.epoch + epoch_delta
    if state_change == "ack":
        esc, _ = machine.on_command(esc, command("ack", "bob"), T0)
    after, decisions = machine.on_timer(esc, LEVEL_TIMER, fired_epoch, T0 + timedelta(seconds=61))
    if advances:
        assert (after.custodian, after.level_index) == ("carol", 1)
        assert pages(decisions) == [Page("carol", "sms", 2, 1)]
        assert [d.change for d in decisions if isinstance(d, Record)] == ["timed_out", "offered"]
    else:
        assert after == esc
        assert decisions == []


def test_full_climb_then_repeat_then_muted_to_last_resort() -> None:
    esc, _ = machine.open_escalation(routed(repeat=1), ADMINS, Timings(), T0)
    now = T0
    seen = [(esc.custodian, esc.round)]
    for _ in range(6):
        now += timedelta(hours=9)  # spread out: stay under the 24 h page cap
        esc, _ = machine.on_timer(esc, LEVEL_TIMER, esc.epoch, now)
        seen.append((esc.custodian, esc.round))
    assert seen[:6] == [
        ("bob", 0),
        ("carol", 0),
        ("dave", 0),
        ("bob", 1),
        ("carol", 1),
        ("dave", 1),
    ]
    assert esc.state == "muted"
    assert esc.custodian == "dave"
    assert "chain exhausted" in esc.reason


def test_fourth_page_within_24h_is_muted() -> None:
    esc, _ = machine.open_escalation(routed(repeat=3), ADMINS, Timings(), T0)
    now = T0
    states = []
    for _ in range(3):
        now += timedelta(minutes=2)
        esc, decisions = machine.on_timer(esc, LEVEL_TIMER, esc.epoch, now)
        states.append((esc.state, len(pages(decisions))))
    assert states == [("offered", 1), ("offered", 1), ("muted", 0)]
    assert "cap" in esc.reason


@pytest.mark.parametrize(
    ("actor", "action", "accepted", "code", "state"),
    [
        ("bob", "ack", True, None, "accepted"),  # the offered custodian
        ("dave", "ack", True, None, "accepted"),  # an admin
        ("alice", "ack", False, "not_custodian", "offered"),  # outsider
        ("monitor-1", "resolve", False, "not_custodian", "offered"),  # the raising agent
        ("bob", "resolve", True, None, "resolved"),
        ("alice", "note", False, "not_custodian", "offered"),
    ],
)
def test_only_the_right_person_acts(
    actor: str, action: str, accepted: bool, code: str | None, state: str
) -> None:
    esc, decisions = machine.on_command(opened(), command(action, actor), T0)
    answer = next(d for d in decisions if isinstance(d, Answer))
    assert (answer.accepted, answer.error_code, esc.state) == (accepted, code, state)
    if not accepted:
        assert pages(decisions) == []
        assert [d for d in decisions if isinstance(d, Record)] == []


def test_ack_cancels_the_timer_and_pages_nobody() -> None:
    esc, decisions = machine.on_command(opened(), command("ack", "bob"), T0)
    assert CancelTimer(LEVEL_TIMER) in decisions
    assert pages(decisions) == []
    assert esc.epoch == 2


def test_earlier_custodian_may_still_act_after_the_climb() -> None:
    esc = opened()
    esc, _ = machine.on_timer(esc, LEVEL_TIMER, esc.epoch, T0 + timedelta(seconds=61))
    esc, _decisions = machine.on_command(esc, command("ack", "bob"), T0 + timedelta(seconds=62))
    assert (esc.state, esc.custodian) == ("accepted", "bob")


def test_decline_hands_back_to_the_next_candidate_with_its_reason() -> None:
    cmd = command("decline", "bob", reason="on a plane")
    esc, decisions = machine.on_command(opened(), cmd, T0)
    assert (esc.state, esc.custodian) == ("offered", "carol")
    records = [d for d in decisions if isinstance(d, Record)]
    assert records[0] == Record("declined", "bob", reason="on a plane")
    assert pages(decisions) == [Page("carol", "sms", 2, 1)]


def test_reassign_never_goes_to_the_raiser() -> None:
    esc, decisions = machine.on_command(opened(), command("reassign", "bob", to="monitor-1"), T0)
    answer = next(d for d in decisions if isinstance(d, Answer))
    assert (answer.accepted, answer.error_code) == (False, "raiser_cannot_hold")
    assert esc.custodian == "bob"


def test_reassign_offers_to_the_new_person() -> None:
    esc, decisions = machine.on_command(opened(), command("reassign", "bob", to="carol"), T0)
    assert (esc.state, esc.custodian) == ("offered", "carol")
    assert pages(decisions) == [Page("carol", "sms", 1, 1)]


def test_resolved_refuses_further_acks() -> None:
    esc, _ = machine.on_command(opened(), command("resolve", "bob"), T0)
    esc2, decisions = machine.on_command(esc, command("ack", "bob"), T0)
    answer = next(d for d in decisions if isinstance(d, Answer))
    assert (answer.accepted, answer.error_code, esc2) == (False, "already_resolved", esc)


def test_versions_grow_with_every_record() -> None:
    esc = opened()
    version = esc.version
    esc, decisions = machine.on_timer(esc, LEVEL_TIMER, esc.epoch, T0 + timedelta(seconds=61))
    assert esc.version == version + len([d for d in decisions if isinstance(d, Record)])
