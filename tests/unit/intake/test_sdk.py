"""The SDK's pure parts: the typed builder and durations."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from custody.client import CustodyError, Event, seconds
from custody.contracts import Severity, Threshold


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (30, 30.0),
        (2.5, 2.5),
        ("45", 45.0),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1d", 86400.0),
        ("1500ms", 1.5),
    ],
)
def test_durations_read_as_seconds(value: str | float, expected: float) -> None:
    assert seconds(value) == expected


@pytest.mark.parametrize("value", ["soon", "", "5 minutes", "-1s"])
def test_bad_durations_are_one_clear_error(value: str) -> None:
    with pytest.raises(CustodyError) as caught:
        seconds(value)
    assert caught.value.field == "interval"


def test_the_builder_makes_a_validated_event_with_a_fixed_key() -> None:
    built = (
        Event("monitor-1", "checkout 5xx", "red")
        .service("checkout")
        .label("env", "prod")
        .customer_impact()
        .signal("5xx at 40%")
        .evidence("dashboard", url="https://grafana.test/d/1")
        .diagnosis("JWT signing key rotated")
        .threshold(Threshold.CUSTOMER_IMPACT, "slo_at_risk")
        .proposed_action("roll back key rotation", reversible=True)
        .agent_action("stopped: needs a human")
        .runbook("https://runbooks.test/checkout")
    )
    event = built.build()
    assert event.severity is Severity.RED
    assert event.labels == {"env": "prod"}
    assert event.proof.thresholds == (Threshold.CUSTOMER_IMPACT, Threshold.SLO_AT_RISK)
    assert event.proof.reversible is True
    assert len(event.dedup_key) == 32
    assert built.dedup_key("fixed").build().dedup_key == "fixed"


def test_the_builder_refuses_what_intake_would_before_sending() -> None:
    with pytest.raises(ValidationError):
        Event("monitor-1", "t" * 201, "red").build()
    with pytest.raises(ValidationError):
        Event("monitor-1", "t", "purple").build()
