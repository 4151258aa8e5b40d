"""Routing against the example policy: first match wins, never the raiser, always a reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from custody.contracts import IncidentAccepted, IncidentEvent
from custody.policy import load_policy, load_policy_text
from custody.provisioning import EXAMPLE_POLICY
from custody_router.domain.decision import decide, what_if
from custody_router.domain.routing import RouteInput, route

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # 13:00 in Stockholm, 07:00 in New York
NIGHT = datetime(2026, 11, 22, 3, 14, tzinfo=UTC)  # 04:14 Stockholm, 22:14 New York
POLICY = load_policy(EXAMPLE_POLICY)


def event(
    raised_by: str = "monitor-1", service: str | None = "checkout", **kw: object
) -> RouteInput:
    base: dict[str, object] = {
        "source": raised_by,
        "service": service,
        "labels": {},
        "severity": "red",
        "customer_impact": False,
        "raised_by": raised_by,
    }
    base.update(kw)
    return RouteInput(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raised_by", "service", "rule", "chain"),
    [
        ("monitor-1", "checkout", "checkout", ["bob", "carol", "dave"]),
        ("monitor-1", None, "no-service", ["bob", "carol", "dave"]),
        ("bob", "checkout", "checkout", ["carol", "dave"]),  # second account
        ("carol", None, "no-service", ["bob", "dave"]),
        ("dave", "checkout", "checkout", ["bob", "carol"]),
        ("monitor-1", "search", "(no route matched)", ["dave"]),  # last resort
        ("dave", "search", "(no route matched)", ["bob"]),  # last resort raised it: not him
    ],
)
def test_route_resolves_chain_without_the_raiser(
    raised_by: str, service: str | None, rule: str, chain: list[str]
) -> None:
    decision = route(POLICY, "p-1", event(raised_by, service), NOW)
    assert decision.explanation.rule == rule
    assert [level.recipients[0] for level in decision.levels] == chain
    assert raised_by not in {p for level in decision.levels for p in level.recipients}
    assert decision.last_resort != raised_by


def test_unmatched_incident_goes_to_last_resort_and_says_so() -> None:
    decision = route(POLICY, "p-1", event(service="search"), NOW)
    assert decision.custodian == "dave"
    assert decision.explanation.summary.startswith(
        "no route matched: owner of last resort dave of team payments"
    )


@pytest.mark.parametrize(
    ("severity", "impact", "labels", "klass", "channels"),
    [
        ("red", False, {}, "red", ("sms",)),
        ("yellow", False, {}, "yellow", ("email", "chat")),
        ("yellow", True, {}, "red", ("sms",)),  # customer impact makes it RED
        ("green", False, {}, "green", ("digest",)),
        # Foreign severities in labels decide before the native one.
        ("red", False, {"pd_severity": "warning"}, "yellow", ("email", "chat")),
        ("yellow", False, {"pd_severity": "critical"}, "red", ("sms",)),
        ("yellow", False, {"severity": "critical"}, "red", ("sms",)),  # Alertmanager
        ("red", False, {"severity": "info"}, "green", ("digest",)),
        ("green", True, {"severity": "info"}, "red", ("sms",)),  # impact still raises it
        ("yellow", False, {"severity": "bogus"}, "yellow", ("email", "chat")),  # ignored
    ],
)
def test_severity_class_picks_the_channel_plan(
    severity: str, impact: bool, labels: dict[str, str], klass: str, channels: tuple[str, ...]
) -> None:
    decision = route(
        POLICY, "p-1", event(severity=severity, customer_impact=impact, labels=labels), NOW
    )
    assert decision.explanation.severity_class == klass
    assert decision.levels[0].channels == channels


def test_explanation_names_who_was_on_call_and_why() -> None:
    why = route(POLICY, "p-1", event(), NOW).explanation
    assert why.policy_version == "p-1"
    assert why.schedule["level 1 primary"] == "primary: bob, the only member of the rotation"
    assert "checkout" in why.summary
    assert why.inputs["at"] == NOW.isoformat()
    assert why.quiet_hours["zone"] == "Europe/Stockholm"
    assert why.classification == {
        "class": "red",
        "basis": "native severity RED",
        "customer_visible": False,
    }


# At NIGHT bob (Stockholm, 22:00–07:00) is in quiet hours; carol (New York, 23:00–06:30) is not.
@pytest.mark.parametrize(
    ("kw", "raised_by", "disposition", "until"),
    [
        ({"severity": "yellow"}, "monitor-1", "defer", datetime(2026, 11, 22, 6, 0, tzinfo=UTC)),
        ({"severity": "red"}, "monitor-1", "offer", None),  # RED is never deferred
        ({"severity": "yellow", "customer_impact": True}, "monitor-1", "offer", None),
        (
            {"severity": "yellow", "labels": {"customer_visible": "true"}},
            "monitor-1",
            "offer",
            None,
        ),
        ({"severity": "yellow", "thresholds": ("customer_impact",)}, "monitor-1", "offer", None),
        ({"severity": "yellow"}, "bob", "offer", None),  # carol is custodian, and awake
        ({"severity": "green"}, "monitor-1", "digest", None),
    ],
)
def test_yellow_is_deferred_to_the_custodians_morning_and_red_never(
    kw: dict[str, Any], raised_by: str, disposition: str, until: datetime | None
) -> None:
    decision = route(POLICY, "p-1", event(raised_by=raised_by, **kw), NIGHT)
    assert decision.disposition == disposition
    assert decision.deferred_until == until
    assert (decision.explanation.deferral is not None) == (until is not None)
    assert decision.reason


def test_a_deferral_says_until_when_in_the_recipients_zone() -> None:
    decision = route(POLICY, "p-1", event(severity="yellow"), NIGHT)
    assert decision.defer_reason == (
        "YELLOW in bob's quiet hours (22:00–07:00 Europe/Stockholm): "
        "morning batch at 2026-11-22 07:00 CET"
    )
    assert decision.explanation.deferral == {
        "until": "2026-11-22T06:00:00+00:00",
        "until_local": "2026-11-22T07:00:00+01:00",
        "reason": decision.defer_reason,
    }
    assert decision.explanation.quiet_hours["quiet"] is True
    assert decision.custodian == "bob"  # still bob: deferred, not rerouted


def test_presence_override_stops_the_deferral() -> None:
    awake = EXAMPLE_POLICY.read_text().replace(
        '    quiet_hours: {start: "22:00", end: "07:00"}',
        '    presence: {awake: true}\n    quiet_hours: {start: "22:00", end: "07:00"}',
        1,
    )
    decision = route(load_policy_text(awake), "p-2", event(severity="yellow"), NIGHT)
    assert decision.disposition == "offer"
    assert decision.reason == "YELLOW in bob's quiet hours, but bob is marked awake"


@pytest.mark.parametrize(
    ("exception", "raised_by", "custodian", "sla"),
    [
        ("data_missing", "monitor-1", "dave", 4 * 3600.0),
        ("cross_team_dependency", "monitor-1", "dave", 3600.0),
        ("legal_hold", "monitor-1", "dave", 1800.0),
        ("legal_hold", "dave", "bob", 900.0),  # the owner raised it: last resort, RED's SLA
    ],
)
def test_exception_classes_go_to_their_owner_with_its_sla(
    exception: str, raised_by: str, custodian: str, sla: float
) -> None:
    decision = route(POLICY, "p-1", event(raised_by, labels={"exception": exception}), NOW)
    assert decision.custodian == custodian
    assert decision.acceptance_sla_s == sla
    assert decision.explanation.rule == "checkout"


def test_an_unknown_exception_class_routes_normally_with_a_note() -> None:
    decision = route(POLICY, "p-1", event(labels={"exception": "legal_hld"}), NOW)
    assert decision.custodian == "bob"
    assert decision.explanation.notes == (
        "labels.exception='legal_hld' is not an exception class (did you mean legal_hold?)",
    )


def test_sla_substitute_and_manager_come_from_the_policy() -> None:
    decision = route(POLICY, "p-1", event(), NOW)
    assert (decision.acceptance_sla_s, decision.substitute, decision.manager) == (
        900.0,
        "carol",
        "dave",
    )
    by_carol = route(POLICY, "p-1", event("carol"), NOW)
    assert by_carol.substitute is None  # carol raised it: never her own substitute
    by_dave = route(POLICY, "p-1", event("dave"), NOW)
    assert by_dave.manager is None


def test_the_fact_carries_the_decision_and_explain_builds_the_same() -> None:
    incident = IncidentEvent(
        source="monitor-1", dedup_key="k", title="slow", severity="yellow", service="checkout"
    )
    accepted = IncidentAccepted(
        event_id="incident:esc-1",
        escalation_id="esc-1",
        occurred_at=NIGHT,
        event=incident,
        raised_by="monitor-1",
    )
    fact = decide(POLICY, "p-1", accepted, NIGHT)
    assert (fact.event_id, fact.occurred_at, fact.severity) == ("routed:esc-1", NIGHT, "yellow")
    assert fact.deferred_until == datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    assert fact.defer_reason.startswith("YELLOW in bob's quiet hours")
    hypothetical = what_if(POLICY, "p-1", incident.model_dump_json().encode(), None, NIGHT)
    envelope = {"event_id", "escalation_id", "occurred_at", "traceparent", "tracestate"}
    assert hypothetical.model_dump(exclude=envelope) == fact.model_dump(exclude=envelope)


def test_the_facts_severity_is_the_decided_class() -> None:
    incident = IncidentEvent(
        source="monitor-1",
        dedup_key="k",
        title="t",
        severity="yellow",
        labels={"severity": "critical"},
    )
    fact = what_if(POLICY, "p-1", incident.model_dump_json().encode(), None, NOW)
    assert fact.severity == "red"
    assert fact.explanation.inputs["severity"] == "yellow"
