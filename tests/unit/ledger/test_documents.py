"""The read-side documents have the shapes CONTRACT.md names."""

from custody_ledger.domain import documents
from custody_ledger.domain.documents import TimelineFact
from custody_ledger.domain.projection import Escalation, fold
from tests.unit.ledger import factories as f


def _case(eid: str = "e1") -> tuple[Escalation, list[TimelineFact]]:
    facts = f.lifecycle(eid)
    view = fold({}, facts)[eid]
    timeline = [
        TimelineFact(i + 1, x.kind, x.occurred_at, x.actor, x.payload) for i, x in enumerate(facts)
    ]
    return view, timeline


def test_show_has_the_custody_show_shape() -> None:
    view, facts = _case()
    doc = documents.show(view, facts)
    assert {"escalation_id", "title", "severity", "state", "custodian", "raised_by"} <= set(doc)
    assert {
        "signal",
        "diagnosis",
        "reasoning",
        "proposed_action",
        "reversible",
        "agent_action",
    } <= set(doc["proof"])
    assert {"policy_version", "rule", "explanation"} <= set(doc["routing"])
    assert doc["routing"]["explanation"] == "route checkout matched: payments, primary bob"
    assert [e["kind"] for e in doc["timeline"]] == [
        "raised",
        "routed",
        "offered",
        "page_requested",
        "page_sent",
        "command",
        "acknowledged",
    ]
    assert all(set(e) == {"at", "kind", "actor", "detail"} for e in doc["timeline"])


def test_page_entries_name_recipient_channel_and_level() -> None:
    view, facts = _case()
    sent = next(e for e in documents.show(view, facts)["timeline"] if e["kind"] == "page_sent")
    assert {k: sent["detail"][k] for k in ("recipient", "channel", "level")} == {
        "recipient": "bob",
        "channel": "sms",
        "level": 1,
    }
    assert sent["actor"] == "notifier"


def test_routing_lists_who_was_already_tried() -> None:
    view, facts = _case()
    tried = documents.show(view, facts)["routing"]["tried"]
    assert [(t["recipient"], t["channel"], t["outcome"]) for t in tried] == [
        ("bob", "sms", "page_sent")
    ]


def test_reasoning_names_the_thresholds_and_the_agents_sentence() -> None:
    proof = {
        "thresholds": ["customer_impact", "slo_at_risk"],
        "reasoning": "Key rotation is irreversible.",
    }
    assert documents.reasoning(proof) == (
        "Thresholds fired: customer impact, SLO at risk. Key rotation is irreversible."
    )
    assert documents.reasoning({}) == ""


def test_trace_has_one_hop_per_fact_with_services() -> None:
    view, facts = _case()
    doc = documents.trace(view, facts)
    assert doc["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert [h["service"] for h in doc["hops"]] == [
        "intake",
        "router",
        "escalator",
        "escalator",
        "notifier",
        "intake",
        "escalator",
    ]
    assert doc["hops"][0]["latency_ms"] == 0
    assert doc["hops"][1]["latency_ms"] == 50.0


def test_inbox_holds_what_the_person_holds_or_is_offered_until_resolved() -> None:
    assert documents.in_inbox(Escalation("e", state="offered", custodian="bob"), "bob")
    assert documents.in_inbox(Escalation("e", state="accepted", custodian="bob"), "bob")
    assert not documents.in_inbox(Escalation("e", state="resolved", custodian="bob"), "bob")
    assert not documents.in_inbox(Escalation("e", state="offered", custodian="carol"), "bob")
    summary = documents.summary(Escalation("e", state="offered", custodian="bob"))
    assert {
        "escalation_id",
        "title",
        "severity",
        "state",
        "custodian",
        "raised_by",
        "opened_at",
    } <= set(summary)
