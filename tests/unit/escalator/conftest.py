"""Builders for escalator domain tests: a routed incident with a three-level chain."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from custody.contracts import Level, ProofPacket, RoutingDecided, RoutingExplanation, Severity

T0 = datetime(2026, 11, 22, 3, 14, tzinfo=UTC)


def routed(
    *,
    levels: tuple[tuple[str, float], ...] = (("bob", 60.0), ("carol", 60.0), ("dave", 120.0)),
    repeat: int = 0,
    raised_by: str = "monitor-1",
    channels: tuple[str, ...] = ("sms",),
    escalation_id: str = "esc-000000000001",
) -> RoutingDecided:
    return RoutingDecided(
        event_id=f"routed:{escalation_id}",
        escalation_id=escalation_id,
        occurred_at=T0,
        title="checkout 5xx",
        severity=Severity.RED,
        customer_impact=True,
        raised_by=raised_by,
        proof=ProofPacket(diagnosis="JWT key rotated"),
        team="payments",
        levels=tuple(
            Level(number=i, recipients=(who,), wait_s=wait, channels=channels)
            for i, (who, wait) in enumerate(levels, start=1)
        ),
        repeat=repeat,
        last_resort="dave",
        explanation=RoutingExplanation(
            policy_version="p-1",
            rule="checkout",
            team="payments",
            severity_class="red",
            inputs={},
            schedule={},
        ),
    )


@pytest.fixture
def t0() -> datetime:
    return T0
