"""PagerDuty Events API v2 onto the native event: severities, keys, and the sender's field names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from custody.contracts import Severity
from custody_intake.domain import pagerduty
from custody_intake.domain.rejection import Refused

TRIGGER = json.loads((Path(__file__).parent / "payloads" / "pagerduty_trigger.json").read_text())


def read(body: dict[str, Any]) -> pagerduty.PagerDutyEvent:
    return pagerduty.read(json.dumps(body).encode(), body)


def trigger(body: dict[str, Any]) -> pagerduty.PagerDutyTrigger:
    event = read(body)
    assert isinstance(event, pagerduty.PagerDutyTrigger)
    return event


def action(body: dict[str, Any]) -> pagerduty.PagerDutyAction:
    event = read(body)
    assert isinstance(event, pagerduty.PagerDutyAction)
    return event


def refused(body: dict[str, Any], map_too: bool = False) -> tuple[int, str, str]:
    with pytest.raises(Refused) as caught:
        pagerduty.to_incident(trigger(body), "monitor-1", "d" * 64) if map_too else read(body)
    r = caught.value.rejection
    return r.status, r.error_code, r.field


def with_payload(**payload: Any) -> dict[str, Any]:
    return {**TRIGGER, "payload": {**TRIGGER["payload"], **payload}}


def test_the_documented_trigger_maps_onto_a_native_event() -> None:
    event = pagerduty.to_incident(trigger(TRIGGER), "monitor-1", "d" * 64)
    assert event.source == "monitor-1"
    assert event.dedup_key == "srv01/HTTP"
    assert event.title == "DISK at 99% on machine prod-datapipe03.example.com"
    assert event.severity is Severity.RED
    assert event.service == "mysql"
    assert event.labels == {
        "pd_source": "prod-datapipe03.example.com",
        "group": "prod-datapipe",
        "class": "deploy",
    }
    assert event.occurred_at is not None
    assert event.occurred_at.utcoffset() is not None
    labels = [e.label for e in event.proof.evidence]
    assert labels == ["Link text", "Example text", "Sample Monitoring Service"]
    assert event.proof.details == {"free space": "1%", "ping time": "1500ms", "load avg": 0.75}


@pytest.mark.parametrize(
    ("pd", "ours"),
    [
        ("critical", Severity.RED),
        ("error", Severity.RED),
        ("warning", Severity.YELLOW),
        ("info", Severity.GREEN),
    ],
)
def test_severities_map_onto_custody_classes(pd: str, ours: Severity) -> None:
    event = pagerduty.to_incident(trigger(with_payload(severity=pd)), "m", "d" * 64)
    assert event.severity is ours


def test_a_trigger_without_a_dedup_key_gets_one_from_its_body() -> None:
    body = {k: v for k, v in TRIGGER.items() if k != "dedup_key"}
    event = pagerduty.to_incident(trigger(body), "m", "ab" * 32)
    assert event.dedup_key == "pd-" + "ab" * 16


def test_acknowledge_and_resolve_act_on_the_key() -> None:
    ack = pagerduty.to_action(
        action({"routing_key": "t", "event_action": "acknowledge", "dedup_key": "k"})
    )
    assert (ack.action, ack.dedup_key) == ("ack", "k")
    resolve = pagerduty.to_action(
        action({"routing_key": "t", "event_action": "resolve", "dedup_key": "k"})
    )
    assert resolve.action == "resolve"
    assert refused({"routing_key": "t", "event_action": "resolve"}) == (
        422,
        "missing_field",
        "dedup_key",
    )


def test_refusals_name_pagerduty_fields_not_ours() -> None:
    assert refused(with_payload(summary="x" * 201))[2] == "payload.summary"
    assert refused(with_payload(summary="two\nlines")) == (
        422,
        "control_character",
        "payload.summary",
    )
    assert refused(with_payload(timestamp="2015-07-17T08:42:58"), map_too=True) == (
        422,
        "naive_datetime",
        "payload.timestamp",
    )
    assert refused({k: v for k, v in TRIGGER.items() if k != "payload"})[2] == "payload"


def test_custom_details_are_kept_whole_as_data_control_characters_and_all() -> None:
    big = {"log": "line 1\nline 2\u0007" + "y" * 5000}
    event = pagerduty.to_incident(trigger(with_payload(custom_details=big)), "m", "d" * 64)
    assert event.proof.details == big
    text = pagerduty.to_incident(trigger(with_payload(custom_details="disk full")), "m", "x")
    assert text.proof.details == {"custom_details": "disk full"}


def test_unknown_fields_and_actions_are_refused() -> None:
    assert refused({**TRIGGER, "dedupkey": "typo"})[1] == "unknown_field"
    assert refused({**TRIGGER, "event_action": "snooze"}) == (422, "invalid_choice", "event_action")
    assert refused({"routing_key": "t"}) == (422, "missing_field", "event_action")
