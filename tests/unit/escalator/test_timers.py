"""Promotion, follow-ups, the acceptance SLA, deferral and the cap's meta-incident."""

from __future__ import annotations

from datetime import timedelta

import pytest

from custody.contracts import CommandIssued
from custody_escalator.domain import machine
from custody_escalator.domain.decisions import (
    ArmTimer,
    CancelTimer,
    Page,
    RaiseMeta,
    Record,
)
from custody_escalator.domain.state import (
    DEFER_TIMER,
    FOLLOWUP_TIMER,
    LEVEL_TIMER,
    PROMOTE_TIMER,
    SLA_TIMER,
    Timings,
)

from .conftest import T0, routed

ADMINS = ("dave",)
YELLOW = ("email", "chat")


def ack(actor: str, via: str = "cli") -> CommandIssued:
    return CommandIssued(
        event_id=f"command:{actor}-{via}",
        escalation_id="esc-000000000001",
        occurred_at=T0,
        command_id=f"{actor}-{via}",
        action="ack",
        actor=actor,
        via=via,
    )


def changes(decisions: list[object]) -> list[str]:
    return [d.change for d in decisions if isinstance(d, Record)]


def test_yellow_is_promoted_to_sms_after_its_wait() -> None:
    timings = Timings(promote_after_s=900)
    esc, decisions = machine.open_escalation(routed(channels=YELLOW), ADMINS, timings, T0)
    assert ArmTimer(PROMOTE_TIMER, T0 + timedelta(seconds=900)) in decisions
    esc, decisions = machine.on_timer(esc, PROMOTE_TIMER, esc.epoch, T0 + timedelta(seconds=900))
    assert [d for d in decisions if isinstance(d, Page)] == [Page("bob", "sms", 1, 1)]
    assert changes(decisions) == ["promoted"]


def test_acked_yellow_is_never_promoted() -> None:
    timings = Timings(promote_after_s=900)
    esc, _ = machine.open_escalation(routed(channels=YELLOW), ADMINS, timings, T0)
    fired_epoch = esc.epoch
    esc, decisions = machine.on_command(esc, ack("bob"), T0 + timedelta(seconds=10))
    assert CancelTimer(PROMOTE_TIMER) in decisions
    after, decisions = machine.on_timer(
        esc, PROMOTE_TIMER, fired_epoch, T0 + timedelta(seconds=900)
    )
    assert (after, decisions) == (esc, [])


def test_red_by_sms_arms_no_promotion() -> None:
    _, decisions = machine.open_escalation(routed(), ADMINS, Timings(promote_after_s=900), T0)
    assert not [d for d in decisions if isinstance(d, ArmTimer) and d.timer == PROMOTE_TIMER]


def test_ack_is_not_fix_followup_notes_without_pages() -> None:
    timings = Timings(followup_after_s=3600)
    esc, _ = machine.open_escalation(routed(), ADMINS, timings, T0)
    esc, decisions = machine.on_command(esc, ack("bob"), T0)
    assert ArmTimer(FOLLOWUP_TIMER, T0 + timedelta(hours=1)) in decisions
    later = T0 + timedelta(hours=1)
    esc2, decisions = machine.on_timer(esc, FOLLOWUP_TIMER, esc.epoch, later)
    assert changes(decisions) == ["followup"]
    assert esc2.state == "accepted"
    assert not [d for d in decisions if isinstance(d, Page)]
    assert ArmTimer(FOLLOWUP_TIMER, later + timedelta(hours=1)) in decisions  # re-armed


def test_followup_after_resolve_is_dropped() -> None:
    esc, _ = machine.open_escalation(routed(), ADMINS, Timings(followup_after_s=60), T0)
    esc, _ = machine.on_command(esc, ack("bob"), T0)
    epoch = esc.epoch
    resolve = ack("bob").model_copy(update={"action": "resolve", "command_id": "r"})
    esc, _ = machine.on_command(esc, resolve, T0)
    assert machine.on_timer(esc, FOLLOWUP_TIMER, epoch, T0 + timedelta(minutes=1)) == (esc, [])


def test_sla_breach_offers_the_substitute_and_tells_the_manager() -> None:
    route = routed().model_copy(update={"substitute": "carol", "manager": "dave"})
    esc, decisions = machine.open_escalation(route, ADMINS, Timings(acceptance_sla_s=30), T0)
    assert ArmTimer(SLA_TIMER, T0 + timedelta(seconds=30)) in decisions
    esc, decisions = machine.on_timer(
        esc, SLA_TIMER, machine.NOT_FENCED, T0 + timedelta(seconds=30)
    )
    assert (esc.state, esc.custodian, esc.sla_breached) == ("offered", "carol", True)
    pages = [d for d in decisions if isinstance(d, Page)]
    assert Page("dave", "email", 1, 1) in pages
    assert Page("carol", "sms", 1, 1) in pages
    again = machine.on_timer(esc, SLA_TIMER, machine.NOT_FENCED, T0 + timedelta(seconds=31))
    assert again == (esc, [])  # once per escalation


def test_cap_mutes_and_raises_exactly_one_meta_incident() -> None:
    esc, _ = machine.open_escalation(routed(repeat=5), ADMINS, Timings(page_cap=3), T0)
    metas = []
    now = T0
    for _ in range(5):
        now += timedelta(minutes=2)
        esc, decisions = machine.on_timer(esc, LEVEL_TIMER, esc.epoch, now)
        metas += [d for d in decisions if isinstance(d, RaiseMeta)]
    assert esc.state == "muted"
    assert esc.cap_hit
    assert len(metas) == 1
    assert metas[0].title.startswith("escalation cap hit on esc-000000000001")


def test_meta_incident_never_raises_another() -> None:
    meta = routed().model_copy(update={"meta_of": "esc-000000000009"})
    esc, _ = machine.open_escalation(meta, ADMINS, Timings(page_cap=1), T0)
    esc, decisions = machine.on_timer(esc, LEVEL_TIMER, esc.epoch, T0 + timedelta(minutes=2))
    assert esc.state == "muted"
    assert not [d for d in decisions if isinstance(d, RaiseMeta)]


def test_quiet_hours_defer_then_offer_at_the_end() -> None:
    until = T0 + timedelta(hours=4)
    route = routed().model_copy(update={"deferred_until": until, "defer_reason": "quiet hours"})
    esc, decisions = machine.open_escalation(route, ADMINS, Timings(), T0)
    assert esc.state == "deferred"
    assert esc.reason == "quiet hours"
    assert decisions[-1] == ArmTimer(DEFER_TIMER, until)
    assert not [d for d in decisions if isinstance(d, Page)]
    esc, decisions = machine.on_timer(esc, DEFER_TIMER, esc.epoch, until)
    assert (esc.state, esc.custodian) == ("offered", "bob")


@pytest.mark.parametrize(
    ("actor", "via", "accepted", "custodian"),
    [
        ("monitor-1", "source", True, "bob"),  # PagerDuty acknowledge: the offeree keeps it
        ("monitor-1", "cli", False, "bob"),  # the raiser, not through its tool: refused
        ("alice", "source", False, "bob"),  # "source" from someone else: refused
    ],
)
def test_source_may_ack_and_resolve_its_own_incident(
    actor: str, via: str, accepted: bool, custodian: str
) -> None:
    esc, _ = machine.open_escalation(routed(), ADMINS, Timings(), T0)
    after, decisions = machine.on_command(esc, ack(actor, via), T0)
    answer = decisions[-1]
    assert getattr(answer, "accepted", None) is accepted
    assert after.custodian == custodian
    assert (after.state == "accepted") is accepted


def test_roles_are_assigned_and_recorded() -> None:
    esc, _ = machine.open_escalation(routed(), ADMINS, Timings(), T0)
    cmd = ack("bob").model_copy(
        update={"action": "assign_role", "role": "commander", "to": "carol", "command_id": "x"}
    )
    esc, decisions = machine.on_command(esc, cmd, T0)
    assert esc.roles == {"commander": "carol"}
    assert changes(decisions) == ["role_assigned"]
