"""One trace per escalation across every hop, the timer's delay and an SMS reply; every log
line handled for it carries its ids; /readyz follows the durables; /metrics parses."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import nats
import pytest
from prometheus_client.parser import text_string_to_metric_families

from custody import subjects
from custody.bus.provisioning import provision_jetstream
from tests.e2e.conftest import System, running_system
from tests.fakes.callbacks import CallbackClient

pytestmark = pytest.mark.e2e
SMS_TOKEN = "e2e-sms-auth-token"
CAROL_PHONE = "+12125550003"  # tests/e2e/policy.yaml


@pytest.fixture(scope="module")
def observed() -> Iterator[System]:
    with running_system(service_env={"CUSTODY_SMS_AUTH_TOKEN": SMS_TOKEN}) as system:
        yield system


def spans(system: System) -> list[dict[str, Any]]:
    path = system.stack.trace_path
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def sms_reply(system: System, sender: str, body: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as http:
        client = CallbackClient(
            http,
            base_url=system.stack.intake_url,
            sms_token=SMS_TOKEN,
            chat_secret="",
            mail_key="",
            webhook_secrets=[],
        )
        return await client.sms(sender, body)


def test_one_trace_spans_every_hop_the_timer_and_an_sms_reply(observed: System) -> None:
    esc = observed.raise_incident()
    carol = observed.wait_for(
        "level 2 page",
        lambda: [p for p in observed.pages(esc) if p["recipient"] == "carol"],
        timeout=15,
    )[0]
    code = re.search(r'reply "(ack \w+)"', carol["body"])
    assert code, carol["body"]
    response = asyncio.run(sms_reply(observed, CAROL_PHONE, code.group(1)))
    assert response.status_code < 300, response.text
    observed.wait_for(
        "accepted", lambda: observed.cli("show", esc, "--as", "dave")["state"] == "accepted"
    )
    trace_id = observed.cli("trace", esc)["trace_id"]
    assert trace_id

    def hops() -> dict[str, list[str]]:
        mine: dict[str, list[str]] = {}
        for span in spans(observed):
            if span["trace_id"] == trace_id:
                mine.setdefault(span["service"], []).append(span["name"])
        return mine

    def complete() -> dict[str, list[str]] | None:
        seen = hops()
        names = [n for names in seen.values() for n in names]
        wanted = [
            f"routed.{esc} process",  # escalator opens it
            f"timers.due.{esc}.level process",  # the timer's delay, same trace
            f"commands.{esc} process",  # the escalator takes the SMS ack
        ]
        pages = sum(1 for n in names if n == f"pages.requested.{esc} process")
        ok = all(w in names for w in wanted) and pages >= 2 and "custody-ledger" in seen
        return seen if ok and any(n.startswith("intake.ack") for n in names) else None

    seen = observed.wait_for("one complete trace", complete, timeout=20)
    assert {
        "custody-intake",
        "custody-router",
        "custody-escalator",
        "custody-notifier",
        "custody-ledger",
    } <= set(seen)
    tagged = [
        s
        for s in spans(observed)
        if s["trace_id"] == trace_id and s["attributes"].get("custody.escalation_id") == esc
    ]
    assert len(tagged) >= 5


def test_every_log_line_for_the_escalation_carries_its_ids(observed: System) -> None:
    esc = observed.raise_incident()
    observed.wait_for("page", lambda: observed.pages(esc))
    time.sleep(1.0)
    lines = []
    for path in (observed.stack.data_dir / "logs").glob("*.log"):
        for line in path.read_text().splitlines():
            if line.startswith("{") and esc in line:
                lines.append(json.loads(line))
    assert len(lines) >= 4
    for entry in lines:
        assert entry.get("escalation_id") == esc, entry
        assert entry.get("trace_id"), entry


def service_urls(system: System) -> dict[str, str]:
    state = json.loads(system.stack.state_path.read_text())
    return {name: info["url"] for name, info in state["services"].items() if "url" in info}


def test_every_service_serves_parseable_metrics_with_the_domain_metrics(observed: System) -> None:
    urls = service_urls(observed)
    assert set(urls) >= {"intake", "router", "escalator", "notifier", "ledger"}
    wanted = {
        "custody_pages",
        "custody_pages_in_doubt",
        "custody_time_to_ack_seconds",
        "custody_escalation_transitions",
        "custody_ledger_lag_seconds",
        "custody_dlq_depth",
        "custody_consumer_pending",
        "custody_consumer_ack_pending",
        "custody_policy_version_info",
    }
    for name, url in urls.items():
        text = httpx.get(f"{url}/metrics", timeout=5).text
        families = {f.name for f in text_string_to_metric_families(text)}
        assert wanted <= families, (name, sorted(wanted - families))


def test_readyz_turns_unready_when_a_durable_is_deleted_and_back_after_provision(
    observed: System,
) -> None:
    router = service_urls(observed)["router"]
    assert httpx.get(f"{router}/readyz", timeout=5).status_code == 200

    async def delete() -> None:
        nc = await nats.connect(observed.stack.admin_nats_url)
        try:
            await nc.jetstream().delete_consumer(subjects.INCIDENTS, "router")
        finally:
            await nc.close()

    asyncio.run(delete())
    started = time.monotonic()
    observed.wait_for(
        "router unready",
        lambda: httpx.get(f"{router}/readyz", timeout=5).status_code == 503,
        timeout=10,
    )
    print(f"[e2e] unready {time.monotonic() - started:.2f}s after deleting the durable")

    async def reprovision() -> None:
        nc = await nats.connect(observed.stack.admin_nats_url)
        try:
            await provision_jetstream(nc.jetstream())
        finally:
            await nc.close()

    asyncio.run(reprovision())
    observed.wait_for(
        "router ready",
        lambda: httpx.get(f"{router}/readyz", timeout=5).status_code == 200,
        timeout=10,
    )
