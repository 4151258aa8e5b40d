"""PagerDuty and Alertmanager senders against a real nats-server: what reaches the bus."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from custody import subjects
from custody.runtime.nats_server import NatsServer
from tests.integration.intake_harness import Intake, bearer, running_intake

PAYLOADS = Path(__file__).parents[1] / "unit" / "intake" / "payloads"
AM_FIRING = json.loads((PAYLOADS / "alertmanager_firing.json").read_text())
AM_RESOLVED = json.loads((PAYLOADS / "alertmanager_resolved.json").read_text())
PD_TRIGGER = json.loads((PAYLOADS / "pagerduty_trigger.json").read_text())


@pytest.fixture(scope="module")
async def intake(nats_server: NatsServer) -> AsyncIterator[Intake]:
    async with running_intake(nats_server.url) as running:
        yield running


def pd(token: str, action: str, key: str, **payload: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"routing_key": token, "event_action": action, "dedup_key": key}
    if action == "trigger":
        body["payload"] = {**PD_TRIGGER["payload"], **payload}
    return body


async def commands(intake: Intake, esc: str) -> list[dict[str, Any]]:
    return await intake.messages(subjects.COMMANDS, subjects.command(esc))


async def test_pagerduty_trigger_acknowledge_resolve_is_one_escalation(intake: Intake) -> None:
    name, token = await intake.agent()
    key = f"srv01/HTTP/{uuid.uuid4().hex[:6]}"
    answers = []
    for action in ("trigger", "trigger", "acknowledge", "resolve"):
        response = await intake.http.post("/v2/enqueue", json=pd(token, action, key))
        assert response.status_code == 202, response.text
        answers.append(response.json())
    assert {a["status"] for a in answers} == {"success"}
    assert {a["dedup_key"] for a in answers} == {key}
    [esc] = {a["escalation_id"] for a in answers}
    assert await intake.count(subjects.INCIDENTS, subjects.incident_accepted(esc)) == 1
    sent = await commands(intake, esc)
    assert [(c["action"], c["actor"], c["via"]) for c in sent] == [
        ("ack", name, "source"),
        ("resolve", name, "source"),
    ]


async def test_pagerduty_retries_collapse_into_one_command(intake: Intake) -> None:
    _, token = await intake.agent()
    key = uuid.uuid4().hex
    await intake.http.post("/v2/enqueue", json=pd(token, "trigger", key))
    for _ in range(3):
        response = await intake.http.post("/v2/enqueue", json=pd(token, "resolve", key))
        assert response.status_code == 202
    assert len(await commands(intake, response.json()["escalation_id"])) == 1


async def test_pagerduty_refusals_are_400_in_both_vocabularies_and_kept(intake: Intake) -> None:
    name, token = await intake.agent()
    response = await intake.http.post(
        "/v2/enqueue", json=pd(token, "trigger", "k", severity="disaster")
    )
    assert response.status_code == 400
    body = response.json()
    assert (body["status"], body["error_code"], body["field"]) == (
        "invalid event",
        "invalid_choice",
        "payload.severity",
    )
    assert body["errors"]
    bad_key = await intake.http.post("/v2/enqueue", json=pd("cst_nobody", "trigger", "k"))
    assert (bad_key.status_code, bad_key.json()["field"]) == (401, "routing_key")
    kept = await intake.messages(subjects.REJECTED, subjects.rejected(name))
    assert [k["error_code"] for k in kept] == ["invalid_choice"]
    assert token not in kept[0]["body_head"]  # the routing key is a secret


async def test_recorded_alertmanager_group_raises_then_resolves_each_alert(intake: Intake) -> None:
    name, token = await intake.agent()
    group = {"groupKey": f'{{}}/{{service="checkout"}}:{{run="{uuid.uuid4().hex}"}}'}
    firing = await intake.http.post(
        "/v1/integrations/alertmanager", json={**AM_FIRING, **group}, headers=bearer(token)
    )
    assert firing.status_code == 202, firing.text
    raised = firing.json()["alerts"]
    assert [a["action"] for a in raised] == ["raised", "raised"]
    escalations = [a["escalation_id"] for a in raised]
    assert len(set(escalations)) == 2
    again = await intake.http.post(
        "/v1/integrations/alertmanager", json={**AM_FIRING, **group}, headers=bearer(token)
    )
    assert [a["escalation_id"] for a in again.json()["alerts"]] == escalations
    resolved = await intake.http.post(
        "/v1/integrations/alertmanager", json={**AM_RESOLVED, **group}, headers=bearer(token)
    )
    assert resolved.status_code == 202
    assert [(a["escalation_id"], a["action"]) for a in resolved.json()["alerts"]] == [
        (esc, "resolve") for esc in escalations
    ]
    for esc in escalations:
        assert await intake.count(subjects.INCIDENTS, subjects.incident_accepted(esc)) == 1
        [cmd] = await commands(intake, esc)
        assert (cmd["action"], cmd["actor"], cmd["via"]) == ("resolve", name, "source")
        assert "resolved by source" in cmd["note"]


async def test_an_alert_firing_again_after_resolve_opens_a_new_escalation(intake: Intake) -> None:
    _, token = await intake.agent()
    group = {"groupKey": f"refire-{uuid.uuid4().hex}"}
    payload = {**AM_FIRING, **group, "alerts": AM_FIRING["alerts"][:1]}
    first = await intake.http.post(
        "/v1/integrations/alertmanager", json=payload, headers=bearer(token)
    )
    esc = first.json()["alerts"][0]["escalation_id"]
    await intake.set_state(esc, "resolved")
    refire = {**payload, "alerts": [{**payload["alerts"][0], "startsAt": "2026-11-22T05:00:00Z"}]}
    second = await intake.http.post(
        "/v1/integrations/alertmanager", json=refire, headers=bearer(token)
    )
    [alert] = second.json()["alerts"]
    assert alert["action"] == "raised"
    assert alert["escalation_id"] != esc


async def test_one_bad_alert_refuses_the_whole_group_and_nothing_is_raised(intake: Intake) -> None:
    name, token = await intake.agent()
    group = f"bad-{uuid.uuid4().hex}"
    bad = {**AM_FIRING["alerts"][1], "labels": {f"l{i}": "v" for i in range(40)}}
    payload = {**AM_FIRING, "groupKey": group, "alerts": [AM_FIRING["alerts"][0], bad]}
    response = await intake.http.post(
        "/v1/integrations/alertmanager", json=payload, headers=bearer(token)
    )
    assert (response.status_code, response.json()["field"]) == (422, "alerts.1.labels")
    accepted = await intake.messages(subjects.INCIDENTS, "incidents.accepted.>")
    assert not [a for a in accepted if a["event"]["source"] == name]
