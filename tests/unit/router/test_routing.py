"""Routing against the example policy: first match wins, never the raiser, always a reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from custody.policy import load_policy
from custody.provisioning import EXAMPLE_POLICY
from custody_router.domain.routing import RouteInput, route

NOW = datetime(2026, 11, 22, 3, 14, tzinfo=UTC)
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


@pytest.mark.parametrize(
    ("severity", "impact", "klass", "channels"),
    [
        ("red", False, "red", ("sms",)),
        ("yellow", False, "yellow", ("email", "chat")),
        ("yellow", True, "red", ("sms",)),  # customer impact makes it RED
        ("green", False, "green", ("digest",)),
    ],
)
def test_severity_class_picks_the_channel_plan(
    severity: str, impact: bool, klass: str, channels: tuple[str, ...]
) -> None:
    decision = route(POLICY, "p-1", event(severity=severity, customer_impact=impact), NOW)
    assert decision.explanation.severity_class == klass
    assert decision.levels[0].channels == channels


def test_explanation_names_who_was_on_call_and_why() -> None:
    decision = route(POLICY, "p-1", event(), NOW)
    assert decision.explanation.policy_version == "p-1"
    assert "bob" in decision.explanation.schedule["level 1 primary"]
    assert "checkout" in decision.explanation.summary
