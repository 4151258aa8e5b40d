"""The notifier end to end, the five services as processes (as `custody up` runs them):

- digests (acceptance 5): a GREEN and a YELLOW deferred by quiet hours arrive as the daily
  digest and the morning batch at the batch time on the recipient's wall clock, once each. The
  batch time is a short test window (CUSTODY_DIGEST_AT = a minute after start, bob-local)
  instead of 07:00; the 07:00 rule itself is proven by the pure scheduling tests.
- canary (acceptance 6): a synthetic incident goes through the whole pipeline to a canary
  recipient whose webhook is intake's canary sink; with the notifier stopped (SIGSTOP), the
  next probe does not arrive and a RED meta-incident is raised for the owner of last resort.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import nats
import pytest
import yaml

from custody.runtime.ports import free_port
from custody.runtime.stack import Stack
from tests.e2e.conftest import POLICY, System
from tests.fakes.notifier import WEBHOOK_SECRETS
from tests.fixtures.infra import postgres_scratch_dir

pytestmark = pytest.mark.e2e
STOCKHOLM = ZoneInfo("Europe/Stockholm")


@contextmanager
def system_with(
    policy: dict[str, Any], env: dict[str, str], ports: dict[str, int] | None = None
) -> Iterator[System]:
    """A whole stack with its own policy, service environment and (optionally) fixed ports."""
    with postgres_scratch_dir() as root:
        data = root / "custody"
        data.mkdir()
        if ports:
            (data / "ports.json").write_text(json.dumps(ports))
        path = root / "policy.yaml"
        path.write_text(yaml.safe_dump(policy, sort_keys=False))
        stack = Stack(data, path, service_env=env, extra_state={"dev_admin": "dave"})
        started = time.monotonic()
        try:
            stack.start()
            print(f"\n[e2e] stack ready in {time.monotonic() - started:.1f}s")
            yield System(stack)
        finally:
            stack.stop()


def base_policy() -> dict[str, Any]:
    policy: dict[str, Any] = yaml.safe_load(POLICY.read_text())
    return policy


def notices(system: System) -> list[dict[str, Any]]:
    path = system.stack.sink_path.with_name("notices.jsonl")
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# --- digests and the morning batch ----------------------------------------------------------


def test_digest_and_morning_batch_arrive_at_the_batch_time_recipient_local() -> None:
    at_utc = (datetime.now(UTC) + timedelta(seconds=75)).replace(microsecond=0)
    at_local = at_utc.astimezone(STOCKHOLM)
    policy = base_policy()
    # bob (Stockholm) is in quiet hours until the batch time, so a YELLOW waits for it.
    start = (at_local - timedelta(hours=3)).strftime("%H:%M")
    policy["people"]["bob"]["quiet_hours"] = {"start": start, "end": at_local.strftime("%H:%M:%S")}
    env = {"CUSTODY_DIGEST_AT": at_local.strftime("%H:%M:%S"), "CUSTODY_SCHEDULER_PERIOD_S": "0.5"}
    with system_with(policy, env) as system:
        assert datetime.now(UTC) < at_utc - timedelta(seconds=15), "stack too slow for the window"
        green = system.raise_incident(severity="green", title="disk 81% on db-2")
        yellow = system.raise_incident(severity="yellow", title="cache hit rate low")
        shown = system.wait_for(
            "the YELLOW deferred",
            lambda: system.cli("show", yellow, "--as", "dave")["state"] == "deferred",
        )
        assert shown
        assert system.cli("show", green, "--as", "dave")["state"] == "digest"
        assert not [n for n in notices(system) if n["kind"] in ("digest", "morning")]
        wait = (at_utc - datetime.now(UTC)).total_seconds()
        batches = system.wait_for(
            "digest and morning batch",
            lambda: (
                len(b := [n for n in notices(system) if n["kind"] in ("digest", "morning")]) >= 2
                and b
            ),
            timeout=wait + 15,
        )
        time.sleep(3)  # long enough for a second send, if there were one
        batches = [n for n in notices(system) if n["kind"] in ("digest", "morning")]
    assert sorted(b["kind"] for b in batches) == ["digest", "morning"]
    by_kind = {b["kind"]: b for b in batches}
    assert by_kind["digest"]["recipient"] == by_kind["morning"]["recipient"] == "bob"
    assert "disk 81% on db-2" in by_kind["digest"]["body"]
    assert "cache hit rate low" in by_kind["morning"]["body"]
    assert f"ack {yellow[-4:]}" in by_kind["morning"]["body"]
    for batch in batches:
        sent = datetime.fromisoformat(batch["sent_at"])
        late = (sent - at_utc).total_seconds()
        print(
            f"[digest] {batch['kind']} for bob sent {late:+.2f}s from {at_local:%H:%M:%S} Stockholm"
        )
        assert 0 <= late < 3, f"{batch['kind']} sent {late:+.2f}s from the batch time"
        assert batch["channel"] == "email"


# --- the canary ------------------------------------------------------------------------------


def canary_policy(intake_url: str) -> dict[str, Any]:
    policy = base_policy()
    policy["people"]["canary"] = {
        "name": "Canary",
        "timezone": "UTC",
        "contacts": {"webhook": f"{intake_url}/v1/callbacks/canary"},
        "quiet_hours": {"enabled": False},
    }
    policy["agents"]["custody-canary"] = {"description": "synthetic probes"}
    policy["teams"]["canary"] = {
        "members": ["canary"],
        "manager": "dave",
        "last_resort": "dave",
        "schedule": {
            "timezone": "UTC",
            "primary": {"members": ["canary"]},
            "secondary": {"members": ["canary"]},
        },
    }
    policy["chains"]["canary"] = {"levels": [{"targets": ["primary"], "wait": "10m"}]}
    route = {"id": "canary", "match": {"source": "custody-canary", "labels": {"canary": "probe"}}}
    policy["routes"].insert(0, {**route, "team": "canary", "chain": "canary"})
    return policy


def test_the_canary_detects_a_stopped_notifier_and_raises_a_red_meta_incident() -> None:
    intake_port = free_port()
    env = {
        "CUSTODY_CANARY_INTERVAL_S": "10",
        "CUSTODY_CANARY_ARRIVAL_S": "8",
        "CUSTODY_CANARY_CHECK_S": "0.5",
        "CUSTODY_WEBHOOK_SECRETS": WEBHOOK_SECRETS,
    }
    policy = canary_policy(f"http://127.0.0.1:{intake_port}")
    with system_with(policy, env, ports={"intake": intake_port}) as system:
        supervisor = system.stack.supervisor
        assert supervisor is not None
        system.wait_for("a canary arrival", lambda: _probes(system, "arrived"), timeout=40)
        assert not _meta(system)
        supervisor.kill("notifier", signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            failed = system.wait_for(
                "a failed probe", lambda: _probes(system, "failed"), timeout=40
            )
            detected = time.monotonic() - stopped
            meta = system.wait_for("the meta-incident", lambda: _meta(system), timeout=20)
        finally:
            supervisor.kill("notifier", signal.SIGCONT)
        esc = meta[0]["escalation_id"]
        print(f"\n[canary] notifier stopped: a probe failed {detected:.1f}s later, meta {esc}")
        (row,) = meta
        assert row["severity"] == "red"
        assert row["title"].startswith("Canary failed: probe ")
        assert failed
        # The paused notifier comes back: the meta-incident pages the owner of last resort.
        page = system.wait_for(
            "the meta page", lambda: system.pages(row["escalation_id"]), timeout=30
        )
        assert page[0]["recipient"] == "dave"


def _probes(system: System, status: str) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        nc = await nats.connect(system.stack.admin_nats_url)
        try:
            kv = await nc.jetstream().key_value("callbacks")
            try:
                keys = [k for k in await kv.keys() if k.startswith("canary.probe.")]
            except Exception:  # no keys yet
                return []
            docs = [json.loads((await kv.get(k)).value or b"{}") for k in keys]
            return [d for d in docs if d.get("status") == status]
        finally:
            await nc.close()

    return asyncio.run(read())


def _meta(system: System) -> list[dict[str, Any]]:
    rows = system.cli("inbox", "--as", "dave")
    return [r for r in rows if str(r.get("title", "")).startswith("Canary failed")]


@pytest.fixture(autouse=True)
def _timing(request: pytest.FixtureRequest) -> Iterator[None]:
    started = time.monotonic()
    yield
    print(f"[e2e] {request.node.name} took {time.monotonic() - started:.0f}s")
