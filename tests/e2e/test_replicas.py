"""Scaled out: several replicas of every service on the same durables, then a rolling restart
of every replica under load. Nothing accepted is lost, nothing is paged twice (issue #11).

`make test` raises a few hundred incidents; `CUSTODY_E2E_FULL=1` raises the acceptance counts
(2,000 with replicas, 1,000 during the rolling restart). Every raise is recorded in a
Jepsen-style history and judged by the chaos suite's checker (tests/chaos/checker.py):
- lost = acknowledged (intake answered 202) but absent from the ledger's `GET /v1/escalations`;
- unexpected = listed by the ledger but never submitted; unpaged = recorded without a page;
- duplicate_pages = dev-sink lines repeating an (escalation, level, recipient, channel, attempt).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from custody.client import CustodyClient, CustodyError
from custody_intake.domain.identity import escalation_id
from tests.chaos.checker import Verdict, check, duplicate_units
from tests.chaos.history import History
from tests.chaos.load import ledger_view
from tests.e2e.conftest import System, running_system

pytestmark = pytest.mark.e2e

FULL = os.environ.get("CUSTODY_E2E_FULL") == "1"
REPLICA_INCIDENTS = 2000 if FULL else int(os.environ.get("CUSTODY_E2E_REPLICA_INCIDENTS", "300"))
ROLLING_INCIDENTS = 1000 if FULL else int(os.environ.get("CUSTODY_E2E_ROLLING_INCIDENTS", "200"))
# The counts (router=3,escalator=3,notifier=2,ledger=2), plus a second intake so the
# rolling restart also covers intake replicas behind a load balancer (here: the test's client).
REPLICAS = {"intake": 2, "router": 3, "escalator": 3, "notifier": 2, "ledger": 2}
SOURCE = "monitor-1"
SETTLE_S = 240.0  # a message in flight at a SIGTERM comes back after ack_wait (30 s)
RAISE_DEADLINE_S = 120.0  # one incident keeps being retried (same dedup key) for this long


@pytest.fixture(scope="module")
def scaled() -> Iterator[System]:
    with running_system(replicas=REPLICAS) as system:
        yield system


@pytest.fixture(scope="module")
def submitted_earlier() -> set[str]:
    """Escalations earlier tests raised on the shared system, so they are not `unexpected`."""
    return set()


# --- load: raise N incidents across the intake replicas, recording a history ----------------


@dataclass
class Load:
    history: History = field(default_factory=History)
    retries: int = 0
    seconds: float = 0.0


async def _raise_one(clients: list[CustodyClient], key: str, load: Load) -> None:
    """Like an agent behind a load balancer: on any failure, the same event (same dedup key)
    goes to the next replica until intake says it is durable (ok), refuses it (fail), or the
    deadline passes (info: it may or may not have been accepted)."""
    esc = escalation_id(SOURCE, key)
    load.history.invoke(esc)
    deadline = time.monotonic() + RAISE_DEADLINE_S
    attempt = random.randrange(len(clients))
    last = "no attempt"
    while time.monotonic() < deadline:
        client = clients[attempt % len(clients)]
        try:
            result = await client.raise_incident(
                source=SOURCE,
                title=f"load {key}",
                severity="red",
                service="checkout",
                dedup_key=key,
            )
        except CustodyError as exc:
            if exc.status not in (0, 502, 503, 504):
                load.history.fail(esc, str(exc))
                return
            last = str(exc)
            load.retries += 1
            attempt += 1
            await asyncio.sleep(0.2)
            continue
        assert result.escalation_id == esc
        load.history.ok(esc)
        return
    load.history.info(esc, last)


async def _raise_all(
    system: System,
    count: int,
    rate: float | None,
    concurrency: int,
    until: threading.Event | None = None,
) -> Load:
    """Raise `count` incidents (and more, at the same rate, until `until` is set)."""
    token = system.stack.credentials()[SOURCE]
    clients = [
        CustodyClient(url, token, timeout=10.0, attempts=1)
        for url in system.stack.http_urls("intake")
    ]
    load = Load()
    window = asyncio.Semaphore(concurrency)
    prefix = uuid.uuid4().hex[:8]
    started = time.monotonic()

    async def one(i: int) -> None:
        async with window:
            await _raise_one(clients, f"{prefix}-{i}", load)

    tasks = []
    i = 0
    while i < count or (until is not None and not until.is_set()):
        if rate is not None:
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
        tasks.append(asyncio.create_task(one(i)))
        i += 1
    await asyncio.gather(*tasks)
    load.seconds = time.monotonic() - started
    return load


def raise_load(
    system: System, count: int, rate: float | None = None, until: threading.Event | None = None
) -> Load:
    return asyncio.run(_raise_all(system, count, rate, 32, until))


# --- judging the outcome ---------------------------------------------------------------------


def ledger_ids(system: System) -> set[str]:
    """Every escalation the ledger lists to the admin (dave), following the cursor."""
    token = system.stack.credentials()["dave"]
    seen: set[str] = set()
    cursor: str | None = None
    with httpx.Client(base_url=system.stack.ledger_url, timeout=10.0) as http:
        while True:
            params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            response = http.get(
                "/v1/escalations", params=params, headers={"Authorization": f"Bearer {token}"}
            )
            response.raise_for_status()
            body = response.json()
            seen |= {item["escalation_id"] for item in body["items"]}
            cursor = body.get("next_cursor")
            if not cursor:
                return seen


def permission_violations(system: System) -> list[str]:
    """The services run as their own NATS users: the server logs anything they were denied."""
    log = system.stack.data_dir / "nats" / "nats.log"
    return [line for line in log.read_text().splitlines() if "Violation" in line]


def judge(system: System, scenario: str, load: Load, earlier: set[str]) -> Verdict:
    """Wait until every acknowledged escalation is paged and in the ledger (or SETTLE_S), then
    check the history against the ledger and the sink."""
    acknowledged = load.history.keys("ok")
    started = time.monotonic()
    while time.monotonic() - started < SETTLE_S:
        paged = {p["escalation_id"] for p in system.pages()}
        if acknowledged <= paged and acknowledged <= ledger_ids(system):
            break
        time.sleep(1.0)
    recorded = ledger_ids(system) - earlier
    _, doubtful, in_doubt = asyncio.run(ledger_view(system.stack.database_url))
    verdict = check(
        scenario,
        load.history,
        recorded,
        system.pages(),
        in_doubt,
        time.monotonic() - started,
        doubtful,
    )
    earlier |= load.history.keys("ok") | load.history.keys("info") | load.history.keys("fail")
    return verdict


def report(load: Load, verdict: Verdict, system: System, **extra: Any) -> None:
    figures = {
        **verdict.__dict__,
        "recover_s": round(verdict.recover_s, 1),
        "raise_s": round(load.seconds, 1),
        "raise_retries": load.retries,
        "duplicate_pages_all_tests": duplicate_units(system.pages()),
        **extra,
    }
    print(f"\n[e2e] {json.dumps(figures)}")


def assert_clean(verdict: Verdict, system: System, count: int) -> None:
    assert verdict.incidents >= count
    assert verdict.ok == verdict.incidents, f"{verdict.fail} refused, {verdict.info} unknown"
    assert verdict.lost == 0
    assert verdict.unexpected == 0
    assert verdict.unpaged == 0
    assert verdict.duplicate_pages == 0
    assert duplicate_units(system.pages()) == 0
    assert permission_violations(system) == []


# --- acceptance ----------------------------------------------------------------------------


def test_state_lists_every_replica_and_each_http_replica_has_its_own_port(scaled: System) -> None:
    state = json.loads(scaled.stack.state_path.read_text())
    labels = {
        name if i == 1 else f"{name}-{i}" for name, n in REPLICAS.items() for i in range(1, n + 1)
    }
    assert labels <= set(state["services"])
    urls = [
        state["services"][label]["url"] for label in ("intake", "intake-2", "ledger", "ledger-2")
    ]
    assert len(set(urls)) == 4
    assert state["intake_url"] == state["services"]["intake"]["url"]
    for url in urls:
        assert httpx.get(f"{url}/readyz", timeout=5.0).status_code == 200


def test_replicas_on_shared_durables_lose_nothing_and_page_once(
    scaled: System, submitted_earlier: set[str]
) -> None:
    load = raise_load(scaled, REPLICA_INCIDENTS)
    verdict = judge(scaled, "replicas", load, submitted_earlier)
    report(load, verdict, scaled, replicas=REPLICAS)
    assert_clean(verdict, scaled, REPLICA_INCIDENTS)


# --- rolling restart -------------------------------------------------------------------------


def _restarted(system: System, label: str, old_pid: int) -> bool:
    """A new process that finished starting: HTTP replicas answer /readyz, workers have logged
    service.started since the supervisor's last start banner."""
    supervisor = system.stack.supervisor
    assert supervisor is not None
    if supervisor.pids().get(label) in (None, old_pid):
        return False
    service = label.split("-")[0]
    if service in ("intake", "ledger"):
        index = int(label.split("-")[1]) if "-" in label else 1
        url = system.stack.http_urls(service)[index - 1]
        try:
            return httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False
    log = (system.stack.data_dir / "logs" / f"{label}.log").read_text(errors="replace")
    return "service.started" in log.rsplit("supervisor: starting", 1)[-1]


def _probe_restarted(system: System, label: str, old_pid: int) -> Callable[[], bool]:
    return lambda: _restarted(system, label, old_pid)


def rolling_restart(system: System, done: threading.Event, timings: dict[str, float]) -> None:
    """SIGTERM each replica of each service in turn, as a Kubernetes rolling update would,
    and wait for it to be back before touching the next."""
    supervisor = system.stack.supervisor
    assert supervisor is not None
    try:
        for service, count in REPLICAS.items():
            for index in range(1, count + 1):
                label = system.stack.replica_label(service, index)
                old = supervisor.pids()[label]
                started = time.monotonic()
                supervisor.kill(label, signal.SIGTERM)
                system.wait_for(f"{label} back", _probe_restarted(system, label, old), 90.0)
                timings[label] = round(time.monotonic() - started, 1)
    finally:
        done.set()


def test_rolling_restart_of_every_replica_under_load_loses_nothing(
    scaled: System, submitted_earlier: set[str]
) -> None:
    timings: dict[str, float] = {}
    done = threading.Event()
    roller = threading.Thread(target=rolling_restart, args=(scaled, done, timings), daemon=True)
    # Spread the incidents over the roll (about 3 s per replica on an idle machine), and keep
    # raising at that rate until the last replica is back: every restart happens while
    # incidents are raised, routed, escalated, paged and recorded.
    replicas = sum(REPLICAS.values())
    rate = ROLLING_INCIDENTS / (replicas * 3.0)
    roller.start()
    load = raise_load(scaled, ROLLING_INCIDENTS, rate=rate, until=done)
    roller.join(timeout=900)
    assert done.is_set()
    assert len(timings) == replicas, f"restarted only {sorted(timings)}"
    verdict = judge(scaled, "rolling restart", load, submitted_earlier)
    report(load, verdict, scaled, restart_s=timings, rate_per_s=round(rate, 1))
    assert_clean(verdict, scaled, ROLLING_INCIDENTS)
