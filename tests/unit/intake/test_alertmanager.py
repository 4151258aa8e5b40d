"""Alertmanager webhook v4: each alert of a group raises, updates or resolves on its own key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from custody.contracts import Severity
from custody_intake.domain import alertmanager
from custody_intake.domain.rejection import Refused

PAYLOADS = Path(__file__).parent / "payloads"
FIRING = json.loads((PAYLOADS / "alertmanager_firing.json").read_text())
RESOLVED = json.loads((PAYLOADS / "alertmanager_resolved.json").read_text())


def actions(body: dict[str, Any]) -> list[alertmanager.Firing | alertmanager.Resolved]:
    return alertmanager.to_actions(alertmanager.read(json.dumps(body).encode()), "prometheus")


def test_a_grouped_firing_payload_raises_one_incident_per_alert() -> None:
    fired = actions(FIRING)
    assert all(isinstance(a, alertmanager.Firing) for a in fired)
    events = [a.event for a in fired if isinstance(a, alertmanager.Firing)]
    assert len({e.dedup_key for e in events}) == 2
    first = events[0]
    assert first.source == "prometheus"
    assert first.title == "checkout 5xx rate above 20% on checkout-7d9f8c-abcde"
    assert first.severity is Severity.RED
    assert first.service == "checkout"
    assert first.labels["instance"] == "checkout-7d9f8c-abcde:8080"
    assert first.proof.diagnosis.startswith("5xx ratio is 41.2%")
    assert first.proof.runbook_url == "https://runbooks.example.test/checkout/high-error-rate"
    assert first.proof.evidence[0].url is not None
    assert first.dedup_key.endswith(":2d3f4b6c8a9e1f07")


def test_the_resolved_payload_resolves_the_same_keys() -> None:
    fired = {a.event.dedup_key for a in actions(FIRING) if isinstance(a, alertmanager.Firing)}
    resolved = actions(RESOLVED)
    assert all(isinstance(a, alertmanager.Resolved) for a in resolved)
    assert {a.dedup_key for a in resolved if isinstance(a, alertmanager.Resolved)} == fired


def test_the_same_alert_in_another_group_is_another_key() -> None:
    other = {**FIRING, "groupKey": '{}:{alertname="CheckoutHighErrorRate"}'}
    ours = {a.event.dedup_key for a in actions(FIRING) if isinstance(a, alertmanager.Firing)}
    theirs = {a.event.dedup_key for a in actions(other) if isinstance(a, alertmanager.Firing)}
    assert not ours & theirs


def test_without_a_fingerprint_the_labels_fingerprint_the_alert() -> None:
    alerts = [{k: v for k, v in a.items() if k != "fingerprint"} for a in FIRING["alerts"]]
    keys = [
        a.event.dedup_key
        for a in actions({**FIRING, "alerts": alerts})
        if isinstance(a, alertmanager.Firing)
    ]
    assert len(set(keys)) == 2
    assert keys == [
        a.event.dedup_key
        for a in actions({**FIRING, "alerts": alerts})
        if isinstance(a, alertmanager.Firing)
    ]


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("critical", Severity.RED),
        ("warning", Severity.YELLOW),
        ("info", Severity.GREEN),
        ("weird", Severity.YELLOW),
    ],
)
def test_severity_labels_map_onto_classes(severity: str, expected: Severity) -> None:
    alert = {
        **FIRING["alerts"][0],
        "labels": {**FIRING["alerts"][0]["labels"], "severity": severity},
    }
    fired = actions({**FIRING, "alerts": [alert]})[0]
    assert isinstance(fired, alertmanager.Firing)
    assert fired.event.severity is expected


def test_a_bad_alert_refuses_the_delivery_naming_the_alert() -> None:
    alert = {**FIRING["alerts"][1], "annotations": {"summary": "s" * 201}}
    with pytest.raises(Refused) as caught:
        actions({**FIRING, "alerts": [FIRING["alerts"][0], alert]})
    assert (caught.value.rejection.error_code, caught.value.rejection.field) == (
        "too_long",
        "alerts.1.annotations.summary",
    )


def test_wrong_versions_and_shapes_are_refused() -> None:
    for body, field in (
        ({**FIRING, "version": "3"}, "version"),
        ({**FIRING, "alerts": []}, "alerts"),
        ({k: v for k, v in FIRING.items() if k != "groupKey"}, "groupKey"),
    ):
        with pytest.raises(Refused) as caught:
            alertmanager.read(json.dumps(body).encode())
        assert caught.value.rejection.field == field
