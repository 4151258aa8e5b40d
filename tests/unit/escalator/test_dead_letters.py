"""Dead letters page the owner of last resort; they never just park an escalation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from custody.contracts import DeadLettered
from custody.policy import load_policy
from custody.provisioning import EXAMPLE_POLICY
from custody_escalator.domain import machine
from custody_escalator.domain.dead_letters import on_dead_letter, orphan_route
from custody_escalator.domain.decisions import Page, Record
from custody_escalator.domain.state import Timings

from .conftest import T0, routed


def dead(escalation_id: str = "esc-000000000001") -> DeadLettered:
    return DeadLettered(
        event_id="dlq:PAGES:7:notifier",
        escalation_id=escalation_id,
        occurred_at=T0,
        stream="PAGES",
        consumer="notifier",
        stream_seq=7,
        subject="pages.requested.x",
        reason="max_deliver reached: boom",
        payload_head="{}",
    )


@pytest.mark.parametrize(
    ("before", "offered_to_last_resort"),
    [("offered", True), ("accepted", False), ("resolved", False)],
)
def test_dead_letter_offers_the_last_resort_unless_someone_holds_it(
    before: str, offered_to_last_resort: bool
) -> None:
    esc, _ = machine.open_escalation(routed(), ("dave",), Timings(), T0)
    esc = esc.model_copy(update={"state": before})
    after, decisions = on_dead_letter(esc, dead(), T0 + timedelta(seconds=5))
    pages = [d for d in decisions if isinstance(d, Page)]
    if offered_to_last_resort:
        assert (after.state, after.custodian) == ("offered", "dave")
        assert pages == [Page("dave", "sms", 1, 1)]
    else:
        assert pages == []
        assert after.state == before
        assert [d.change for d in decisions if isinstance(d, Record)] == ["note"]


def test_orphan_dead_letter_becomes_a_red_escalation_for_the_last_resort() -> None:
    policy = load_policy(EXAMPLE_POLICY)
    route = orphan_route(dead(escalation_id=""), policy, "p-1", T0)
    assert route.escalation_id.startswith("esc-")
    assert route.levels[0].recipients == ("dave",)
    assert route.severity == "red"
    assert route.meta_of == route.escalation_id  # it can never raise a meta-incident itself
    again = orphan_route(dead(escalation_id=""), policy, "p-1", T0 + timedelta(hours=1))
    assert again.escalation_id == route.escalation_id  # deterministic: redelivery is harmless
