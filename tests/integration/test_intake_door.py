"""The door against a real nats-server: accepted means in INCIDENTS, a retry is never a second
incident, every refusal is kept in REJECTED, and NATS agents get the same rules as HTTP."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest

from custody import subjects
from custody.client import CustodyClient, CustodyError, Event, SyncCustodyClient
from custody.contracts import IntakeReply
from custody.runtime.nats_server import NatsServer
from tests.integration.intake_harness import Intake, bearer, event, running_intake


@pytest.fixture(scope="module")
async def intake(nats_server: NatsServer) -> AsyncIterator[Intake]:
    async with running_intake(nats_server.url) as running:
        yield running


async def opened(intake: Intake, esc: str) -> int:
    return await intake.count(subjects.INCIDENTS, subjects.incident_accepted(esc))


async def sightings(intake: Intake, esc: str) -> int:
    return await intake.count(subjects.INCIDENTS, subjects.incident_seen_again(esc))


async def test_accepted_means_the_incident_is_in_the_stream(intake: Intake) -> None:
    name, token = await intake.agent()
    response = await intake.http.post("/v1/events", json=event(name), headers=bearer(token))
    assert response.status_code == 202
    body = response.json()
    assert body["duplicate"] is False
    [fact] = await intake.messages(
        subjects.INCIDENTS, subjects.incident_accepted(body["escalation_id"])
    )
    assert fact["raised_by"] == name
    assert fact["event"]["proof"]["agent_action"] == "stopped: needs a human"


async def test_a_retry_is_the_same_escalation_and_not_a_sighting(intake: Intake) -> None:
    name, token = await intake.agent()
    raw = json.dumps(event(name)).encode()
    answers = [
        (await intake.http.post("/v1/events", content=raw, headers=bearer(token))).json()
        for _ in range(3)
    ]
    esc = answers[0]["escalation_id"]
    assert [a["escalation_id"] for a in answers] == [esc] * 3
    assert [a["duplicate"] for a in answers] == [False, True, True]
    assert await opened(intake, esc) == 1
    assert await sightings(intake, esc) == 0


async def test_the_same_key_while_open_is_seen_again_and_counted(intake: Intake) -> None:
    name, token = await intake.agent()
    first = event(name)
    esc = (await intake.http.post("/v1/events", json=first, headers=bearer(token))).json()[
        "escalation_id"
    ]
    await intake.set_state(esc, "offered")
    for n in range(1, 4):
        again = {**first, "proof": {**first["proof"], "signal": f"still failing ({n})"}}
        body = (await intake.http.post("/v1/events", json=again, headers=bearer(token))).json()
        assert (body["escalation_id"], body["duplicate"], body["seen_count"]) == (esc, True, n)
    retried = await intake.http.post("/v1/events", json=again, headers=bearer(token))
    assert retried.json()["seen_count"] == 3  # the sender's retry of a sighting is not another
    assert await opened(intake, esc) == 1
    seen = await intake.messages(subjects.INCIDENTS, subjects.incident_seen_again(esc))
    assert [s["proof"]["signal"] for s in seen] == [f"still failing ({n})" for n in (1, 2, 3)]


async def test_after_resolve_the_same_key_opens_a_new_escalation(intake: Intake) -> None:
    name, token = await intake.agent()
    body = event(name)
    first = (await intake.http.post("/v1/events", json=body, headers=bearer(token))).json()
    await intake.set_state(first["escalation_id"], "resolved")
    body["title"] = "checkout 5xx, again"
    second = (await intake.http.post("/v1/events", json=body, headers=bearer(token))).json()
    assert second["duplicate"] is False
    assert second["escalation_id"] != first["escalation_id"]
    third = (
        await intake.http.post("/v1/events", json={**body, "title": "3"}, headers=bearer(token))
    ).json()
    assert (third["escalation_id"], third["duplicate"]) == (second["escalation_id"], True)
    assert await opened(intake, second["escalation_id"]) == 1


async def test_racing_reopeners_open_exactly_one_new_escalation(intake: Intake) -> None:
    name, token = await intake.agent()
    body = event(name)
    first = (await intake.http.post("/v1/events", json=body, headers=bearer(token))).json()
    await intake.set_state(first["escalation_id"], "resolved")
    racers = [
        intake.http.post("/v1/events", json={**body, "title": f"r{i}"}, headers=bearer(token))
        for i in range(10)
    ]
    answers = [r.json() for r in await asyncio.gather(*racers)]
    escalations = {a["escalation_id"] for a in answers}
    assert len(escalations) == 1
    assert first["escalation_id"] not in escalations
    assert sum(not a["duplicate"] for a in answers) == 1
    assert await opened(intake, escalations.pop()) == 1


async def test_every_refusal_is_kept_with_its_reason(intake: Intake) -> None:
    name, token = await intake.agent()
    bad = [
        b'{"title": NaN}',
        json.dumps(event(name, title="t" * 201)).encode(),
        json.dumps(event(name, dedup_key="k" * 256)).encode(),
        json.dumps(event(name, title="a\x1bb")).encode(),
        json.dumps(event("someone-else")).encode(),
    ]
    codes = []
    for raw in bad:
        response = await intake.http.post("/v1/events", content=raw, headers=bearer(token))
        assert 400 <= response.status_code < 500
        codes.append((response.json()["error_code"], response.json()["field"]))
    assert codes == [
        ("non_finite_number", "(body)"),
        ("too_long", "title"),
        ("too_long", "dedup_key"),
        ("control_character", "title"),
        ("source_mismatch", "source"),
    ]
    kept = await intake.messages(subjects.REJECTED, subjects.rejected(name))
    assert [(k["error_code"], k["field"]) for k in kept] == codes
    assert all(k["source"] == name and len(k["body_sha256"]) == 64 for k in kept)
    assert kept[0]["body_head"] == '{"title": NaN}'


async def test_unknown_and_revoked_tokens_get_401(intake: Intake) -> None:
    name, token = await intake.agent()
    unknown = await intake.http.post("/v1/events", json=event(name), headers=bearer("cst_nobody"))
    assert (unknown.status_code, unknown.json()["error_code"]) == (401, "unauthorized")
    missing = await intake.http.post("/v1/events", json=event(name))
    assert missing.status_code == 401
    await intake.revoke(token, name)
    revoked = await intake.http.post("/v1/events", json=event(name), headers=bearer(token))
    assert revoked.status_code == 401


async def test_a_nats_agent_gets_the_same_validation_and_answer(intake: Intake) -> None:
    name, token = await intake.agent()
    headers = {"Authorization": f"Bearer {token}"}
    good = await intake.nc.request(
        subjects.intake_event(name), json.dumps(event(name)).encode(), headers=headers, timeout=5
    )
    accepted = IntakeReply.model_validate_json(good.data)
    assert (accepted.status, accepted.duplicate) == ("accepted", False)
    assert await opened(intake, accepted.escalation_id or "") == 1
    bad = await intake.nc.request(
        subjects.intake_event(name), b'{"a": 1, "a": 2}', headers=headers, timeout=5
    )
    rejected = IntakeReply.model_validate_json(bad.data)
    assert (rejected.status, rejected.error_code, rejected.field) == (
        "rejected",
        "duplicate_key",
        "a",
    )
    kept = await intake.messages(subjects.REJECTED, subjects.rejected(name))
    assert [k["error_code"] for k in kept] == ["duplicate_key"]


async def test_a_nats_agent_without_a_reply_learns_from_the_facts(intake: Intake) -> None:
    name, token = await intake.agent()
    body = event(name)
    await intake.nc.publish(
        subjects.intake_event(name),
        json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}"},
    )
    # The fact is in the stream, where the agent (or anyone allowed) can look it up.
    for _ in range(100):
        facts = await intake.messages(subjects.INCIDENTS, "incidents.accepted.>")
        if any(f["event"]["dedup_key"] == body["dedup_key"] for f in facts[-50:]):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the published event never became a fact")


async def test_the_sdk_raises_over_http_and_nats_with_the_same_idempotent_result(
    intake: Intake, nats_server: NatsServer
) -> None:
    name, token = await intake.agent()
    key = f"sdk-{uuid.uuid4().hex}"
    built = Event(name, "checkout 5xx", "red").service("checkout").dedup_key(key)
    built = built.diagnosis("JWT key rotated").evidence("dashboard", url="https://g.test/d")
    over_http = CustodyClient("http://intake", token, transport=intake.transport)
    result = await over_http.raise_incident(built)
    assert result.duplicate is False
    async with CustodyClient(nats_server.url, token) as over_nats:
        again = await over_nats.raise_incident(built)
    assert again.escalation_id == result.escalation_id
    assert again.duplicate is True
    with pytest.raises(CustodyError) as refused:
        async with CustodyClient(nats_server.url, token) as client:
            await client.raise_incident(Event(name, "t", "red").label("k", "v\nw"))
    assert (refused.value.error_code, refused.value.field) == ("control_character", "labels.k")


async def test_the_sync_client_over_nats(intake: Intake, nats_server: NatsServer) -> None:
    name, token = await intake.agent()

    def raise_twice() -> tuple[str, str]:
        with SyncCustodyClient(nats_server.url, token) as client:
            a = client.raise_incident(source=name, title="t", severity="yellow", dedup_key="same")
            b = client.raise_incident(source=name, title="t", severity="yellow", dedup_key="same")
        return a.escalation_id, b.escalation_id

    first, second = await asyncio.to_thread(raise_twice)
    assert first == second


async def test_rejections_are_listed_newest_first_and_only_your_own(intake: Intake) -> None:
    name, token = await intake.agent()
    other, other_token = await intake.agent()
    for title in ("x" * 201, "y" * 202):
        await intake.http.post("/v1/events", json=event(name, title=title), headers=bearer(token))
    await intake.http.post("/v1/events", content=b"[", headers=bearer(other_token))
    mine = (await intake.http.get("/v1/rejections?limit=10", headers=bearer(token))).json()
    assert [r["error_code"] for r in mine] == ["too_long", "too_long"]
    assert mine[0]["seq"] > mine[1]["seq"]
    snooping = await intake.http.get(f"/v1/rejections?source={other}", headers=bearer(token))
    assert [r["source"] for r in snooping.json()] == [name, name]  # not the other agent's


async def test_two_replicas_racing_on_the_same_keys_open_each_escalation_once(
    intake: Intake, nats_server: NatsServer
) -> None:
    name, token = await intake.agent()
    keys = [f"race-{uuid.uuid4().hex[:8]}-{k}" for k in range(20)]
    async with running_intake(nats_server.url) as other:

        async def sender(replica: Intake, offset: int) -> list[dict[str, object]]:
            answers = []
            for n in range(60):
                body = event(name, dedup_key=keys[(n + offset) % 20], title=f"t{offset}-{n}")
                response = await replica.http.post("/v1/events", json=body, headers=bearer(token))
                assert response.status_code == 202, response.text
                answers.append(response.json())
            return answers

        batches = await asyncio.gather(
            *(sender(replica, i) for i, replica in enumerate([intake, other] * 3))
        )
    answers = [a for batch in batches for a in batch]
    escalations = {str(a["escalation_id"]) for a in answers}
    assert len(escalations) == 20
    assert sum(not a["duplicate"] for a in answers) == 20
    for esc in escalations:
        assert await opened(intake, esc) == 1
    counts = [await sightings(intake, esc) for esc in escalations]
    assert sum(counts) == len(answers) - 20  # every other input is one sighting
