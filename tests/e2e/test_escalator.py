"""The escalator's acceptance, end to end, with three escalator replicas on one durable."""

from __future__ import annotations

import asyncio
import random
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from custody.client import CustodyClient, CustodyError
from tests.e2e.conftest import System, running_system

pytestmark = pytest.mark.e2e


POLICY = Path(__file__).parent / "escalator_policy.yaml"


@pytest.fixture(scope="module")
def replicated() -> Iterator[System]:
    with running_system(POLICY, replicas={"escalator": 3}) as system:
        yield system


def client(system: System, name: str) -> CustodyClient:
    return CustodyClient(system.stack.intake_url, system.stack.credentials()[name])


def recipients(system: System, esc: str) -> list[tuple[str, int, int]]:
    return [(p["recipient"], p["level"], p["attempt"]) for p in system.pages(esc)]


def test_full_climb_pages_each_level_once_then_mutes_to_last_resort(replicated: System) -> None:
    esc = replicated.raise_incident(service="climb")
    replicated.wait_for("three levels", lambda: len(replicated.pages(esc)) >= 3, timeout=15)
    shown = replicated.wait_for(
        "muted",
        lambda: (s := replicated.cli("show", esc, "--as", "dave"))["state"] == "muted" and s,
        timeout=15,
    )
    time.sleep(1.0)
    assert recipients(replicated, esc) == [("bob", 1, 1), ("carol", 2, 1), ("dave", 3, 1)]
    assert shown["custodian"] == "dave"  # fallback custody: the owner of last resort


def test_fourth_page_is_muted_and_one_meta_incident_goes_to_last_resort(replicated: System) -> None:
    esc = replicated.raise_incident(service="cap")

    def muted() -> bool:
        return bool(replicated.cli("show", esc, "--as", "dave")["state"] == "muted")

    replicated.wait_for("muted by the cap", muted, timeout=20)
    time.sleep(2.0)
    assert recipients(replicated, esc) == [("bob", 1, 1), ("carol", 2, 1), ("bob", 1, 2)]
    metas = [
        p for p in replicated.pages() if esc in p.get("body", "") and p["escalation_id"] != esc
    ]
    assert len({p["escalation_id"] for p in metas}) == 1
    assert {p["recipient"] for p in metas} == {"dave"}


def test_decline_offers_the_next_candidate_and_keeps_the_reason(replicated: System) -> None:
    esc = replicated.raise_incident(service="race")
    replicated.wait_for("bob's page", lambda: replicated.pages(esc))
    result = replicated.cli("decline", esc, "--as", "bob", "--reason", "on a plane")
    assert (result["state"], result["custodian"]) == ("offered", "carol")
    shown = replicated.wait_for(
        "declined in timeline",
        lambda: (
            (s := replicated.cli("show", esc, "--as", "bob"))
            and any(t["kind"] == "declined" for t in s["timeline"])
            and s
        ),
    )
    declined = next(t for t in shown["timeline"] if t["kind"] == "declined")
    assert "on a plane" in str(declined["detail"])
    assert ("carol", 2, 1) in recipients(replicated, esc)


def test_non_custodian_is_refused_with_403_and_it_is_recorded(replicated: System) -> None:
    esc = replicated.raise_incident(service="race")
    replicated.wait_for("bob's page", lambda: replicated.pages(esc))
    for action in ("ack", "resolve"):
        with pytest.raises(CustodyError) as refused:
            asyncio.run(client(replicated, "alice").command(esc, action))
        assert (refused.value.status, refused.value.error_code) == (403, "not_custodian")

    def refusals() -> int:
        timeline = replicated.cli("show", esc, "--as", "dave")["timeline"]
        return sum(1 for t in timeline if t["kind"] == "command_outcome" and t["actor"] == "alice")

    assert replicated.wait_for("two recorded refusals", lambda: refusals() == 2)


def channels(system: System, esc: str) -> list[tuple[str, str]]:
    return [(p["recipient"], p["channel"]) for p in system.pages(esc)]


def timeline_kinds(system: System, esc: str) -> list[str]:
    return [t["kind"] for t in system.cli("show", esc, "--as", "dave")["timeline"]]


def test_yellow_is_promoted_to_sms_after_its_wait(replicated: System) -> None:
    esc = replicated.raise_incident(service="slow", severity="yellow")
    replicated.wait_for(
        "sms promotion", lambda: ("bob", "sms") in channels(replicated, esc), timeout=10
    )
    time.sleep(1.0)
    assert sorted(channels(replicated, esc)) == [("bob", "chat"), ("bob", "email"), ("bob", "sms")]
    assert replicated.wait_for(
        "promoted fact", lambda: "promoted" in timeline_kinds(replicated, esc)
    )


def test_acked_yellow_is_never_promoted(replicated: System) -> None:
    esc = replicated.raise_incident(service="slow", severity="yellow")
    replicated.wait_for("first pages", lambda: len(replicated.pages(esc)) >= 2)
    assert replicated.cli("ack", esc, "--as", "bob")["state"] == "accepted"
    time.sleep(4.0)  # past the 2 s promotion
    assert sorted(channels(replicated, esc)) == [("bob", "chat"), ("bob", "email")]


def test_followup_note_after_the_window_and_no_extra_pages(replicated: System) -> None:
    esc = replicated.raise_incident(service="slow")
    replicated.wait_for("bob's page", lambda: replicated.pages(esc))
    assert replicated.cli("ack", esc, "--as", "bob")["state"] == "accepted"
    replicated.wait_for(
        "follow-up", lambda: "followup" in timeline_kinds(replicated, esc), timeout=15
    )
    assert channels(replicated, esc) == [("bob", "sms")]
    shown = replicated.cli("show", esc, "--as", "dave")
    assert shown["state"] == "accepted"  # acknowledged is not fixed, and not re-paged


@pytest.mark.timeout(900)  # 200 trials; on a loaded 2-core box the answers can queue
def test_ack_racing_the_level_timer_never_pages_after_the_ack(replicated: System) -> None:
    """200 acks land around the level-1 timer. Once an ack is recorded (its answer reached the
    caller, or, if the answer was still queued, the ledger recorded it), no page may follow."""
    trials = 200
    monitor = client(replicated, "monitor-1")
    bob = client(replicated, "bob")

    async def trial(i: int) -> tuple[str, datetime | None]:
        raised = await monitor.raise_incident(
            source="monitor-1",
            title=f"race {i}",
            severity="red",
            service="race",
            dedup_key=f"race-{uuid.uuid4().hex}",
        )
        await asyncio.sleep(2.0 + random.uniform(-0.25, 0.25))  # the level-1 wait is 2 s
        result = await bob.command(raised.escalation_id, "ack")
        answered = datetime.now(UTC) if result.get("state") == "accepted" else None
        return raised.escalation_id, answered

    async def run_all() -> list[tuple[str, datetime | None]]:
        sem = asyncio.Semaphore(40)

        async def bounded(i: int) -> tuple[str, datetime | None]:
            async with sem:
                return await trial(i)

        return await asyncio.gather(*(bounded(i) for i in range(trials)))

    results = asyncio.run(run_all())

    async def recorded_at(esc: str) -> datetime | None:
        conn = await asyncpg.connect(replicated.stack.database_url)
        try:
            return await conn.fetchval(  # type: ignore[no-any-return]
                "SELECT min(recorded_at) FROM facts WHERE escalation_id = $1"
                " AND kind = 'acknowledged'",
                esc,
            )
        finally:
            await conn.close()

    acks: dict[str, datetime] = {}
    for esc, answered in results:
        acks[esc] = answered or replicated.wait_for(
            f"{esc} acknowledged", lambda e=esc: asyncio.run(recorded_at(e)), timeout=30
        )
    time.sleep(3.0)
    late = []
    for esc, at in acks.items():
        for page in replicated.pages(esc):
            if datetime.fromisoformat(page["sent_at"]) > at:
                late.append((esc, page["recipient"], page["sent_at"], at.isoformat()))
    timer_won = sum(1 for esc, _ in results if len(replicated.pages(esc)) > 1)
    queued = sum(1 for _, answered in results if answered is None)
    print(
        f"[e2e] ack race: {trials} trials, timer won {timer_won}, answers queued {queued}, "
        f"pages after ack {len(late)}"
    )
    assert late == []


def test_escalator_crash_storm_fires_every_due_step_exactly_once(replicated: System) -> None:
    supervisor = replicated.stack.supervisor
    assert supervisor is not None
    kills: list[str] = []
    stop = threading.Event()

    def nemesis() -> None:
        rng = random.Random(7)
        while len(kills) < 50 and not stop.is_set():
            names = [n for n in supervisor.pids() if n.startswith("escalator")]
            victim = rng.choice(names)
            supervisor.kill(victim)
            kills.append(victim)
            time.sleep(rng.uniform(0.2, 0.8))

    killer = threading.Thread(target=nemesis, daemon=True)
    killer.start()
    escalations = []
    try:
        for _ in range(50):
            escalations.append(replicated.raise_incident(service="race"))
            time.sleep(0.3)
        killer.join(timeout=60)
    finally:
        stop.set()
    assert len(kills) == 50

    def settled() -> bool:
        return all(len(replicated.pages(esc)) >= 2 for esc in escalations)

    replicated.wait_for("level 2 paged everywhere", settled, timeout=60)
    time.sleep(3.0)
    for esc in escalations:
        assert recipients(replicated, esc) == [("bob", 1, 1), ("carol", 2, 1)], esc
