"""Intake's acceptance end to end, against the five services as processes.

- 10 concurrent clients sending 1,000 events over 100 keys: exactly 100 escalations and 100
  first pages (acceptance 3);
- PagerDuty trigger → acknowledge → resolve is one escalation, accepted then resolved, and the
  recorded Alertmanager group raises, then resolves, its two escalations (acceptance 4);
- a missed heartbeat raises "NAME went silent" within one interval plus 5 s, and the next ping
  resolves it (acceptance 6).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from custody import subjects
from custody.client import CustodyClient, Event, RaiseResult
from tests.e2e.conftest import System

pytestmark = pytest.mark.e2e
PAYLOADS = Path(__file__).parents[1] / "unit" / "intake" / "payloads"
CLIENTS, EVENTS, KEYS = 10, 1000, 100


def token(system: System, name: str = "monitor-1") -> str:
    return system.stack.credentials()[name]


def state(system: System, esc: str) -> str | None:
    """The escalator's own state of `esc` (KV escalations), without waiting for the ledger."""

    async def read() -> str | None:
        nc = await nats.connect(system.stack.nats_url)
        try:
            kv = await nc.jetstream().key_value(subjects.KV_ESCALATIONS)
            try:
                entry = await kv.get(esc)
            except Exception:
                return None
            return str(json.loads(entry.value or b"{}").get("state"))
        finally:
            await nc.close()

    return asyncio.run(read())


def accepted_facts(system: System, subject: str = "incidents.accepted.>") -> list[dict[str, Any]]:
    """Every IncidentAccepted in INCIDENTS (oldest first)."""

    async def read() -> list[dict[str, Any]]:
        nc = await nats.connect(system.stack.nats_url)
        try:
            js = nc.jetstream()
            sub = await js.subscribe(subject, stream=subjects.INCIDENTS, ordered_consumer=True)
            found: list[dict[str, Any]] = []
            while True:
                try:
                    msg = await sub.next_msg(timeout=0.5)
                except Exception:
                    return found
                found.append(json.loads(msg.data))
        finally:
            await nc.close()

    return asyncio.run(read())


def test_ten_clients_1000_events_100_keys_make_100_escalations_and_100_first_pages(
    system: System,
) -> None:
    run = uuid.uuid4().hex[:8]
    keys = [f"conc-{run}-{k:03d}" for k in range(KEYS)]

    async def client(index: int) -> list[RaiseResult]:
        results = []
        async with CustodyClient(system.stack.intake_url, token(system), timeout=30) as sdk:
            # Every client walks the keys in the same order: ten senders race on each key.
            for n in range(EVENTS // CLIENTS):
                built = Event("monitor-1", f"checkout 5xx ({n})", "red").service("checkout")
                built = built.dedup_key(keys[n % KEYS]).signal(f"client {index} event {n}")
                results.append(await sdk.raise_incident(built))
        return results

    async def all_clients() -> list[RaiseResult]:
        batches = await asyncio.gather(*(client(i) for i in range(CLIENTS)))
        return [r for batch in batches for r in batch]

    started = time.monotonic()
    results = asyncio.run(all_clients())
    elapsed = time.monotonic() - started
    escalations = {r.escalation_id for r in results}
    print(f"\n[intake] {len(results)} events from {CLIENTS} clients in {elapsed:.1f}s")
    assert len(results) == EVENTS
    assert len(escalations) == KEYS
    assert sum(not r.duplicate for r in results) == KEYS

    def first_pages() -> list[dict[str, Any]]:
        return [p for p in system.pages() if p["escalation_id"] in escalations and p["level"] == 1]

    system.wait_for("100 first pages", lambda: len(first_pages()) >= KEYS, timeout=60)
    time.sleep(2.0)  # anything extra would show up by now
    per_escalation = Counter(p["escalation_id"] for p in first_pages())
    assert set(per_escalation) == escalations
    assert set(per_escalation.values()) == {1}, "an escalation got a second first page"
    opened = [f for f in accepted_facts(system) if f["escalation_id"] in escalations]
    assert len(opened) == KEYS


def test_pagerduty_trigger_acknowledge_resolve_is_one_escalation(system: System) -> None:
    key = f"srv01/HTTP/{uuid.uuid4().hex[:8]}"
    trigger = json.loads((PAYLOADS / "pagerduty_trigger.json").read_text())
    trigger |= {"routing_key": token(system), "dedup_key": key}
    trigger["payload"]["component"] = "checkout"

    def send(action: str) -> str:
        body = (
            trigger
            if action == "trigger"
            else {
                "routing_key": token(system),
                "event_action": action,
                "dedup_key": key,
            }
        )
        response = httpx.post(f"{system.stack.intake_url}/v2/enqueue", json=body, timeout=10)
        assert response.status_code == 202, response.text
        assert response.json()["dedup_key"] == key
        return str(response.json()["escalation_id"])

    esc = send("trigger")
    system.wait_for("bob's page", lambda: system.pages(esc), timeout=10)
    assert send("trigger") == esc  # the sender's retry: the same escalation, no new page
    assert send("acknowledge") == esc
    system.wait_for("accepted", lambda: state(system, esc) == "accepted", timeout=10)
    assert send("resolve") == esc
    system.wait_for("resolved", lambda: state(system, esc) == "resolved", timeout=10)
    assert [p["level"] for p in system.pages(esc)] == [1]
    assert len(accepted_facts(system, subjects.incident_accepted(esc))) == 1
    shown = system.wait_for(
        "the ledger's timeline",
        lambda: (s := system.cli("show", esc, "--as", "dave"))["state"] == "resolved" and s,
        timeout=15,
    )
    kinds = [t["kind"] for t in shown["timeline"]]
    assert "acknowledged" in kinds
    assert "resolved" in kinds


def test_recorded_alertmanager_group_raises_then_resolves_by_source(system: System) -> None:
    firing = json.loads((PAYLOADS / "alertmanager_firing.json").read_text())
    resolved = json.loads((PAYLOADS / "alertmanager_resolved.json").read_text())
    group = {"groupKey": f'{{}}:{{alertname="CheckoutHighErrorRate",run="{uuid.uuid4().hex}"}}'}
    url = f"{system.stack.intake_url}/v1/integrations/alertmanager"
    headers = {"Authorization": f"Bearer {token(system)}"}

    raised = httpx.post(url, json=firing | group, headers=headers, timeout=10)
    assert raised.status_code == 202, raised.text
    escalations = [a["escalation_id"] for a in raised.json()["alerts"]]
    assert len(set(escalations)) == 2
    for esc in escalations:
        system.wait_for(f"{esc} paged", lambda e=esc: system.pages(e), timeout=10)
    again = httpx.post(url, json=firing | group, headers=headers, timeout=10)  # repeat_interval
    assert [a["escalation_id"] for a in again.json()["alerts"]] == escalations

    done = httpx.post(url, json=resolved | group, headers=headers, timeout=10)
    assert done.status_code == 202, done.text
    for esc in escalations:
        system.wait_for(f"{esc} resolved", lambda e=esc: state(system, e) == "resolved", 10)
        assert [p["level"] for p in system.pages(esc)] == [1]

    refired = httpx.post(url, json=firing | group, headers=headers, timeout=10)
    reopened = [a["escalation_id"] for a in refired.json()["alerts"]]
    assert [a["action"] for a in refired.json()["alerts"]] == ["raised", "raised"]
    assert not set(reopened) & set(escalations)


def test_a_missed_heartbeat_raises_within_interval_plus_5s_and_a_ping_resolves_it(
    system: System,
) -> None:
    name = f"backup-{uuid.uuid4().hex[:8]}"
    interval_s = 2.0
    before_ping = time.monotonic()
    declared = system.cli("heartbeat", name, "--interval", "2s", "--as", "monitor-1")
    assert declared["interval_s"] == interval_s

    def silence() -> dict[str, Any] | None:
        for fact in accepted_facts(system):
            if fact["event"]["title"] == f"{name} went silent":
                return fact
        return None

    fact = system.wait_for("the silence", silence, timeout=interval_s + 5.0)
    latency = time.monotonic() - before_ping
    print(f"\n[intake] heartbeat silence raised {latency:.2f}s after the ping (interval 2s)")
    assert latency <= interval_s + 5.0
    esc = fact["escalation_id"]
    system.wait_for("the silence paged", lambda: system.pages(esc), timeout=10)
    system.cli("heartbeat", name, "--as", "monitor-1")
    system.wait_for("resolved by the ping", lambda: state(system, esc) == "resolved", 10)
    assert len([f for f in accepted_facts(system) if f["escalation_id"] == esc]) == 1


def test_custody_rejected_lists_what_intake_refused(system: System) -> None:
    url = f"{system.stack.intake_url}/v1/events"
    body = {"source": "monitor-1", "dedup_key": "k", "title": "t" * 201, "severity": "red"}
    refused = httpx.post(url, json=body, headers={"Authorization": f"Bearer {token(system)}"})
    assert (refused.status_code, refused.json()["field"]) == (422, "title")
    rows = system.cli("rejected", "--as", "monitor-1", "--limit", "5")
    assert rows[0]["error_code"] == "too_long"
    assert rows[0]["field"] == "title"
    assert rows[0]["source"] == "monitor-1"
    wrong = system.cli("heartbeat", "x", "--interval", "soon", "--as", "monitor-1", check=False)
    assert wrong.returncode != 0
    assert len(wrong.stderr.strip().splitlines()) == 1
