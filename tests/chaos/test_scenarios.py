"""Fault scenarios: nothing lost, nothing unexpected, nothing paged twice.

Fast tier (the default, in `make test`): a few hundred incidents each. Full tier: `make chaos`
(CUSTODY_CHAOS_TIER=full) with the issue's sizes.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import nats
import pytest

from custody import clock, subjects
from custody.contracts import IncidentAccepted, IncidentEvent, Severity
from custody_intake.domain.identity import escalation_id
from tests.chaos.checker import Verdict
from tests.chaos.conftest import Chaos, size
from tests.chaos.history import History
from tests.chaos.nemesis import Nemesis

pytestmark = pytest.mark.chaos


def assert_clean(v: Verdict) -> None:
    assert v.lost == 0, v
    assert v.unexpected == 0, v
    assert v.unpaged == 0, v
    assert v.duplicate_pages == 0, v


def test_crash_storm_random_service_killed_every_2s(chaos: Chaos) -> None:
    history = History()
    nemesis = Nemesis(chaos.stack, history)
    stop = threading.Event()
    killer = nemesis.every(2.0, nemesis.kill_random_service, stop)
    try:
        chaos.run(history, size(300, 5000), rate=size(30, 100))
    finally:
        stop.set()
        killer.join()
    assert len(history.faults()) >= 3
    assert_clean(chaos.settle("crash storm", history, nemesis.last_fault_at))


def run_with_faults(chaos: Chaos, nemesis: Nemesis, fault: Callable[[], None], limit: int) -> None:
    """Load while `fault` lands every 3 s, `limit` times; every planned fault lands, however
    fast the load finishes."""
    stop = threading.Event()
    killer = nemesis.every(3.0, fault, stop, limit=limit)
    try:
        chaos.run(nemesis.history, size(300, 2000), rate=size(30, 100))
        killer.join(timeout=60)
    finally:
        stop.set()
        killer.join()
    assert len(nemesis.history.faults()) == limit


def test_broker_killed_three_times(chaos: Chaos) -> None:
    history = History()
    nemesis = Nemesis(chaos.stack, history)
    run_with_faults(chaos, nemesis, nemesis.kill_nats, limit=3)
    assert_clean(chaos.settle("broker crashes", history, nemesis.last_fault_at))


def test_postgres_crashed_twice(chaos: Chaos) -> None:
    history = History()
    nemesis = Nemesis(chaos.stack, history)
    run_with_faults(chaos, nemesis, nemesis.crash_postgres, limit=2)
    assert_clean(chaos.settle("database crashes", history, nemesis.last_fault_at))


def test_notifier_paused_past_ack_wait(chaos: Chaos) -> None:
    history = History()
    nemesis = Nemesis(chaos.stack, history)
    ack_wait = subjects.NOTIFIER_PAGES.ack_wait_s
    pauser = threading.Thread(target=nemesis.pause, args=("notifier", ack_wait + 5.0))
    runner = threading.Thread(target=chaos.run, args=(history, size(150, 1000), 30.0))
    runner.start()
    time.sleep(1.0)  # the replica is busy with pages when it freezes
    pauser.start()
    runner.join()
    pauser.join()
    verdict = chaos.settle("pause past ack_wait", history, nemesis.last_fault_at)
    assert_clean(verdict)


def test_network_latency_and_blackhole_on_notifier(chaos: Chaos) -> None:
    history = History()
    nemesis = Nemesis(chaos.stack, history)
    faults = threading.Thread(target=nemesis.network, args=(chaos.proxy, 0.3, 0.1, 10.0, 16.0))
    faults.start()
    chaos.run(history, size(300, 2000), rate=size(20, 50))
    faults.join()
    assert_clean(chaos.settle("network faults", history, nemesis.last_fault_at))


def test_poison_message_dead_letters_and_pages_last_resort(chaos: Chaos) -> None:
    """A message the router cannot take (a newer schema) amid good ones: it reaches the DLQ
    after max_deliver, the owner of last resort is paged, the good ones all complete."""
    history = History()
    poison_id = escalation_id("monitor-1", f"poison-{time.time_ns()}")

    async def publish_poison() -> None:
        nc = await nats.connect(chaos.stack.admin_nats_url)
        try:
            event = IncidentEvent(
                source="monitor-1", dedup_key="poison", title="poison", severity=Severity.RED
            )
            poison = IncidentAccepted(
                event_id=f"incident:{poison_id}",
                escalation_id=poison_id,
                occurred_at=clock.now(),
                event=event,
                raised_by="monitor-1",
                schema_version=99,
            )
            await nc.jetstream().publish(
                subjects.incident_accepted(poison_id),
                poison.to_json(),
                headers={"Nats-Msg-Id": poison.event_id, "Custody-Type": "IncidentAccepted"},
                stream=subjects.INCIDENTS,
            )
        finally:
            await nc.close()

    history.invoke(poison_id)
    history.info(poison_id, "poison: published straight to the stream, never routable")
    asyncio.run(publish_poison())
    chaos.run(history, size(200, 1000), rate=size(40, 100))
    verdict = chaos.settle("poison message", history, time.monotonic())
    assert_clean(verdict)

    def last_resort_paged() -> bool:
        return any(
            p["escalation_id"] == poison_id and p["recipient"] == "dave" for p in chaos.pages()
        )

    deadline = time.monotonic() + 60
    while not last_resort_paged() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert last_resort_paged(), "the dead-lettered escalation did not page the last resort"
