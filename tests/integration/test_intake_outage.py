"""Bus outage: with nats-server stopped (or frozen) intake answers 503 with Retry-After within
2 s, and no 202 is ever given for an event that is not in the stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from custody import subjects
from custody.runtime.nats_server import NatsServer
from tests.integration.intake_harness import Intake, bearer, event, running_intake

PROMISE_S = 2.0


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[NatsServer]:
    """Not the shared server: this test stops it."""
    server = NatsServer(tmp_path / "nats")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Load:
    """Agents raising continuously; every answer is recorded with how long it took."""

    accepted: list[str] = field(default_factory=list)
    unavailable: list[float] = field(default_factory=list)
    other: list[int] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, intake: Intake, name: str, token: str) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            response = await intake.http.post("/v1/events", json=event(name), headers=bearer(token))
            took = time.monotonic() - started
            if response.status_code == 202:
                self.accepted.append(response.json()["escalation_id"])
            elif response.status_code == 503:
                assert response.headers["Retry-After"]
                assert response.json()["error_code"] == "bus_unavailable"
                self.unavailable.append(took)
                await asyncio.sleep(0.05)
            else:
                self.other.append(response.status_code)


async def in_stream(intake: Intake, escalations: list[str]) -> list[str]:
    """The escalations whose incident is NOT in INCIDENTS."""
    missing = []
    for esc in escalations:
        if await intake.count(subjects.INCIDENTS, subjects.incident_accepted(esc)) != 1:
            missing.append(esc)
    return missing


async def wait_connected(intake: Intake, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not (intake.broker.connection.is_connected and intake.nc.is_connected):
        assert time.monotonic() < deadline, "intake never reconnected"
        await asyncio.sleep(0.1)


async def test_stopped_bus_gives_503_within_2s_and_no_202_without_the_stream(
    own_server: NatsServer,
) -> None:
    async with running_intake(own_server.url) as intake:
        name, token = await intake.agent()
        load = Load()
        workers = [asyncio.create_task(load.run(intake, name, token)) for _ in range(4)]
        await asyncio.sleep(1.0)
        before = len(load.accepted)
        await asyncio.to_thread(own_server.stop)
        started = time.monotonic()
        response = await intake.http.post("/v1/events", json=event(name), headers=bearer(token))
        single = time.monotonic() - started
        await asyncio.sleep(2.0)
        await asyncio.to_thread(own_server.start)
        await wait_connected(intake)
        await asyncio.sleep(1.0)
        load.stop.set()
        await asyncio.gather(*workers)

        print(
            f"\n[outage] 202 before: {before}, 202 total: {len(load.accepted)}, "
            f"503: {len(load.unavailable)} (max {max(load.unavailable):.3f}s), single {single:.3f}s"
        )
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "2"
        assert single < PROMISE_S
        assert load.unavailable, "the load never saw the outage"
        assert max(load.unavailable) < PROMISE_S
        assert load.other == []
        assert len(load.accepted) > before, "intake did not recover"
        assert await in_stream(intake, load.accepted) == []


async def test_frozen_bus_gives_503_within_2s(own_server: NatsServer) -> None:
    """A paused server still holds the connection open: only the time budget saves us."""
    async with running_intake(own_server.url) as intake:
        name, token = await intake.agent()
        answered = await intake.http.post("/v1/events", json=event(name), headers=bearer(token))
        assert answered.status_code == 202
        own_server.pause()
        try:
            started = time.monotonic()
            response = await intake.http.post("/v1/events", json=event(name), headers=bearer(token))
            took = time.monotonic() - started
        finally:
            own_server.resume()
        print(f"\n[outage] frozen bus answered {response.status_code} in {took:.3f}s")
        assert response.status_code == 503
        assert took < PROMISE_S
        await wait_connected(intake)
        assert await in_stream(intake, [answered.json()["escalation_id"]]) == []
