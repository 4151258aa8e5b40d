"""The walking skeleton's acceptance, end to end, against the five services as processes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import System

pytestmark = pytest.mark.e2e
LEVEL1_WAIT_S = 3.0  # tests/e2e/policy.yaml


def test_raise_pages_bob_within_2s_and_lands_in_his_inbox(system: System) -> None:
    started = time.monotonic()
    esc = system.raise_incident()
    page = system.wait_for("bob's page", lambda: system.pages(esc), timeout=2.0)
    latency = time.monotonic() - started
    print(f"[e2e] raise → page at sink: {latency * 1000:.0f} ms")
    assert [(p["recipient"], p["level"]) for p in page] == [("bob", 1)]

    def listed() -> list[dict[str, object]]:
        rows = system.cli("inbox", "--as", "bob")
        return [r for r in rows if r["escalation_id"] == esc]

    row = system.wait_for("inbox entry", listed)[0]
    assert row["custodian"] == "bob"
    assert row["raised_by"] == "monitor-1"
    assert row["state"] == "offered"


def test_ack_accepts_and_stops_further_pages(system: System) -> None:
    esc = system.raise_incident()
    system.wait_for("bob's page", lambda: system.pages(esc))
    result = system.cli("ack", esc, "--as", "bob")
    assert result["state"] == "accepted"
    time.sleep(LEVEL1_WAIT_S + 2.0)  # past the level-1 wait: a live timer would page carol
    assert [p["recipient"] for p in system.pages(esc)] == ["bob"]
    shown = system.wait_for(
        "accepted in ledger",
        lambda: (s := system.cli("show", esc, "--as", "bob"))["state"] == "accepted" and s,
    )
    assert shown["custodian"] == "bob"
    kinds = [t["kind"] for t in shown["timeline"]]
    assert "acknowledged" in kinds


def test_without_ack_level_two_is_paged_exactly_once(system: System) -> None:
    esc = system.raise_incident()
    system.wait_for(
        "carol's page",
        lambda: [p for p in system.pages(esc) if p["recipient"] == "carol"],
        timeout=LEVEL1_WAIT_S + 5.0,
    )
    time.sleep(2.0)
    assert [p["recipient"] for p in system.pages(esc)] == ["bob", "carol"]


def test_second_account_raised_by_bob_goes_to_carol(system: System) -> None:
    esc = system.raise_incident(as_name="bob", dedup_key=f"bob-{time.time_ns()}")
    pages = system.wait_for("first page", lambda: system.pages(esc))
    assert [p["recipient"] for p in pages] == ["carol"]
    shown = system.wait_for(
        "routed in ledger",
        lambda: (s := system.cli("show", esc, "--as", "carol"))["custodian"] and s,
    )
    assert shown["custodian"] == "carol"
    assert shown["raised_by"] == "bob"


def test_escalator_killed_before_timer_fires_it_exactly_once(system: System) -> None:
    esc = system.raise_incident()
    system.wait_for("bob's page", lambda: system.pages(esc))
    supervisor = system.stack.supervisor
    assert supervisor is not None
    old = supervisor.pids()["escalator"]
    supervisor.kill("escalator", signal.SIGKILL)
    system.wait_for(
        "escalator restarted", lambda: supervisor.pids().get("escalator") not in (None, old)
    )
    system.wait_for(
        "carol's page",
        lambda: [p for p in system.pages(esc) if p["recipient"] == "carol"],
        timeout=LEVEL1_WAIT_S + 10.0,
    )
    time.sleep(2.0)
    assert [p["recipient"] for p in system.pages(esc)] == ["bob", "carol"]


def test_trace_lists_every_hop(system: System) -> None:
    esc = system.raise_incident()
    system.wait_for("bob's page", lambda: system.pages(esc))

    def traced() -> dict[str, object] | None:
        data = system.cli("trace", esc)
        kinds = {h["kind"] for h in data["hops"]}
        return data if {"raised", "routed", "offered", "page_sent"} <= kinds else None

    data = system.wait_for("full trace", traced)
    assert data["trace_id"]
    services = [h["service"] for h in data["hops"]]
    assert {"intake", "router", "escalator", "notifier"} <= set(services)


def _niceness(pid: int) -> int:
    # /proc/<pid>/stat: the 19th field is the nice value; the command name may hold spaces.
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def test_ledger_gives_way_to_the_paging_path_for_cpu(system: System) -> None:
    """Under CPU contention pages go out first; the ledger catches up (docs/performance.md)."""
    assert system.stack.supervisor is not None
    pids = system.stack.supervisor.pids()
    ours = _niceness(os.getpid())  # the services start at the niceness of whoever started them
    assert _niceness(pids["ledger"]) == min(19, ours + 5)
    for name in ("intake", "router", "escalator", "notifier"):
        assert _niceness(pids[name]) == ours, name
