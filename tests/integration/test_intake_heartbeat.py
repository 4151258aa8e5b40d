"""Heartbeats against a real nats-server, with two intake replicas checking the same ones."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, TypeVar

import pytest

from custody import clock, subjects
from custody.runtime.nats_server import NatsServer
from custody_intake.domain.heartbeat import episode_key
from custody_intake.domain.identity import escalation_id
from tests.integration.intake_harness import Intake, bearer, running_intake

T = TypeVar("T")
INTERVAL_S = 2.0
PROMISE_S = INTERVAL_S + 5.0  # acceptance 6: raised within one interval plus 5 s


@pytest.fixture(scope="module")
async def replicas(nats_server: NatsServer) -> AsyncIterator[list[Intake]]:
    """Two intakes, each running its own checker every second, as deployed."""
    stop = asyncio.Event()
    async with AsyncExitStack() as stack:
        running = [
            await stack.enter_async_context(running_intake(nats_server.url)) for _ in range(2)
        ]
        checkers = [asyncio.create_task(r.parts.watchdog.run(1.0, stop)) for r in running]
        yield running
        stop.set()
        await asyncio.gather(*checkers)


async def silences(intake: Intake, owner: str) -> list[dict[str, Any]]:
    facts = await intake.messages(subjects.INCIDENTS, "incidents.accepted.>")
    return [f for f in facts if f["raised_by"] == owner]


async def wait_for(what: str, probe: Callable[[], Awaitable[T | None]], within: float) -> T:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := await probe():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {within}s waiting for {what}")


async def test_a_missed_heartbeat_raises_once_within_interval_plus_5s(
    replicas: list[Intake],
) -> None:
    intake = replicas[0]
    owner, token = await intake.agent()
    declared = await intake.http.post(
        "/v1/heartbeats/nightly-backup", json={"interval": INTERVAL_S}, headers=bearer(token)
    )
    assert declared.status_code == 202, declared.text
    pinged_at = time.monotonic()
    [fact] = await wait_for("the silence", lambda: silences(intake, owner), PROMISE_S)
    latency = time.monotonic() - pinged_at
    print(f"[heartbeat] raised {latency:.2f}s after the last ping (interval {INTERVAL_S}s)")
    assert latency <= PROMISE_S
    assert fact["event"]["title"] == "nightly-backup went silent"
    await asyncio.sleep(2.5)  # more checker passes, in both replicas
    assert len(await silences(intake, owner)) == 1


async def test_a_recovered_heartbeat_resolves_its_silence_as_source(
    replicas: list[Intake],
) -> None:
    intake = replicas[1]
    owner, token = await intake.agent()
    url = "/v1/heartbeats/ingest"
    await intake.http.post(url, json={"interval": INTERVAL_S}, headers=bearer(token))
    [fact] = await wait_for("the silence", lambda: silences(intake, owner), PROMISE_S)
    esc = str(fact["escalation_id"])
    ping = await intake.http.post(url, headers=bearer(token))  # no body: the declared interval
    assert ping.status_code == 202
    [cmd] = await intake.messages(subjects.COMMANDS, subjects.command(esc))
    assert (cmd["action"], cmd["actor"], cmd["via"]) == ("resolve", owner, "source")
    # Silent again: a new episode, a new escalation.
    facts = await wait_for(
        "the second silence", lambda: _at_least(silences(intake, owner), 2), PROMISE_S
    )
    assert len({f["escalation_id"] for f in facts}) == 2


async def test_a_ping_racing_the_checker_never_leaves_an_open_silence(
    replicas: list[Intake],
) -> None:
    intake = replicas[0]
    owner, token = await intake.agent()
    watchdog = intake.parts.watchdog
    await intake.http.post("/v1/heartbeats/racer", json={"interval": 3600}, headers=bearer(token))
    stale, revision = await watchdog.store.load(owner, "racer")
    assert stale is not None
    assert revision is not None
    await intake.http.post("/v1/heartbeats/racer", headers=bearer(token))  # the racing ping
    await watchdog._raise_silence(stale, revision)  # the checker read the state before it
    esc = escalation_id(owner, episode_key(stale))
    [cmd] = await intake.messages(subjects.COMMANDS, subjects.command(esc))
    assert (cmd["action"], cmd["via"]) == ("resolve", "source")
    current, _ = await watchdog.store.load(owner, "racer")
    assert current is not None
    assert current.silent_escalation is None
    assert current.last_ping_at > stale.last_ping_at


async def test_undeclared_and_badly_named_heartbeats_are_refused_and_kept(
    replicas: list[Intake],
) -> None:
    intake = replicas[0]
    owner, token = await intake.agent()
    undeclared = await intake.http.post("/v1/heartbeats/new-one", headers=bearer(token))
    assert (undeclared.status_code, undeclared.json()["error_code"]) == (404, "not_declared")
    badly = await intake.http.post(
        "/v1/heartbeats/-bad", json={"interval": 5}, headers=bearer(token)
    )
    assert (badly.status_code, badly.json()["error_code"]) == (422, "invalid_format")
    too_often = await intake.http.post(
        "/v1/heartbeats/fast", json={"interval": 0.01}, headers=bearer(token)
    )
    assert too_often.json()["error_code"] == "out_of_range"
    kept = await intake.messages(subjects.REJECTED, subjects.rejected(owner))
    assert [k["error_code"] for k in kept] == ["not_declared", "invalid_format", "out_of_range"]


async def test_a_retired_heartbeat_is_not_raised(replicas: list[Intake]) -> None:
    intake = replicas[0]
    owner, token = await intake.agent()
    url = "/v1/heartbeats/retiring"
    await intake.http.post(url, json={"interval": 1}, headers=bearer(token))
    assert (await intake.http.delete(url, headers=bearer(token))).status_code == 200
    assert (await intake.http.delete(url, headers=bearer(token))).status_code == 404
    await asyncio.sleep(3.0)
    assert await silences(intake, owner) == []
    assert await intake.parts.watchdog.check_once(clock.now()) >= 0


async def _at_least(facts: Awaitable[list[dict[str, Any]]], n: int) -> list[dict[str, Any]] | None:
    found = await facts
    return found if len(found) >= n else None
