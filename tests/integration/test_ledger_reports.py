"""Report tables, `GET /v1/reports`, post-escalation reviews and `/metrics`, against real NATS
and Postgres: the report tables are filled in the same transactions as the facts."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nats
import pytest

from custody.runtime.nats_server import NatsServer
from custody_ledger.verify import verify_ledger
from tests.integration import ledger_harness as harness
from tests.integration.ledger_harness import Ledger, eventually, has_facts, new_id
from tests.unit.ledger import factories as f

bus, ledger_urls = harness.bus, harness.ledger_urls  # fixtures

pytestmark = pytest.mark.timeout(60)

DAYS = 7
NOW = f.at(2 * 86400)  # two days after the factories' facts


@pytest.fixture
async def ledger(
    bus: nats.NATS, nats_server: NatsServer, ledger_urls: harness.Urls, tmp_path: Path
) -> AsyncIterator[Ledger]:
    tokens = bus.tokens  # type: ignore[attr-defined]
    running = await harness.start_ledger(
        nats_server.url, ledger_urls, tokens, state_dir=tmp_path, now=lambda: NOW
    )
    yield running
    await harness.stop_ledger(running)


REVIEW = {
    "threshold_right": False,
    "if_earlier": "the rollback would have started before checkout broke",
    "gap": "alert",
    "gap_detail": "no alert on JWT key rotation",
}


async def _escalation(ledger: Ledger, *, resolved: bool) -> str:
    eid = new_id()
    sent = [
        *f.lifecycle_messages(eid),
        f.page_message(eid, outcome="page_in_doubt", recipient="carol", s=0.4),
    ]
    if resolved:
        sent.append(
            f.custody_message(
                eid, "resolved", version=3, state="resolved", custodian="bob", s=1800, actor="bob"
            )
        )
    for message in sent:
        await ledger.publish(message)
    await eventually(lambda: has_facts(ledger, eid, len(sent)))
    return eid


async def _report(ledger: Ledger, who: str) -> dict[str, Any]:
    response = await ledger.get(f"/v1/reports?days={DAYS}", who)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_report_covers_what_the_caller_may_see(ledger: Ledger) -> None:
    done = await _escalation(ledger, resolved=True)
    open_ = await _escalation(ledger, resolved=False)

    report = await _report(ledger, "dave")  # an admin
    assert report["window"]["until"] == NOW.isoformat()
    assert report["totals"]["escalations"] == 2
    assert report["by_severity"]["red"]["resolved"] == 1
    assert report["by_severity"]["red"]["mtta_s"] == 1.1  # raised at 0 s, acked at 1.1 s
    assert report["by_severity"]["red"]["mttr_s"] == 1800.0
    assert report["by_team"]["payments"]["escalations"] == 2
    assert report["acceptance_by_level"]["1"]["mean_s"] == 1.0  # offered 0.1 s, acked 1.1 s
    assert [s["escalation_id"] for s in report["stalled"]] == [open_]
    assert report["stalled"][0]["custodian"] == "bob"
    pages = {(p["escalation_id"], p["recipient"]) for p in report["in_doubt_pages"]}
    assert pages == {(done, "carol"), (open_, "carol")}

    assert (await _report(ledger, "bob"))["totals"]["escalations"] == 2  # held both
    assert (await _report(ledger, "carol"))["totals"]["escalations"] == 2  # paged for both
    assert (await _report(ledger, "alice"))["totals"]["escalations"] == 0  # in neither


async def test_a_review_after_resolve_is_recorded_once_chained_and_reported(
    ledger: Ledger,
) -> None:
    open_ = await _escalation(ledger, resolved=False)
    early = await ledger.post(f"/v1/escalations/{open_}/reviews", "bob", REVIEW)
    assert (early.status_code, early.json()["error_code"]) == (409, "not_resolved")

    eid = await _escalation(ledger, resolved=True)
    path = f"/v1/escalations/{eid}/reviews"
    first = await ledger.post(path, "bob", REVIEW)
    assert first.status_code == 201, first.text
    assert first.json()["duplicate"] is False
    again = await ledger.post(path, "bob", REVIEW)
    assert (again.json()["review_id"], again.json()["duplicate"]) == (
        first.json()["review_id"],
        True,
    )
    assert (await ledger.post(path, "alice", REVIEW)).status_code == 404  # not in its chain
    assert (await ledger.post(path, "monitor-1", REVIEW)).status_code == 403  # an agent
    bad = await ledger.post(path, "bob", {**REVIEW, "gap": "luck"})
    assert (bad.status_code, bad.json()["field"]) == (400, "gap")

    reviews = (await _report(ledger, "dave"))["reviews"]
    assert [(r["escalation_id"], r["author"], r["gap"]) for r in reviews] == [(eid, "bob", "alert")]
    assert reviews[0]["at"] == NOW.isoformat()
    timeline = (await ledger.get(f"/v1/escalations/{eid}", "bob")).json()["timeline"]
    assert timeline[-1]["kind"] == "review"
    assert timeline[-1]["detail"]["gap_detail"] == "no alert on JWT key rotation"
    rows = await ledger.fetch("SELECT count(*) AS n FROM facts WHERE kind = 'review'")
    assert rows[0]["n"] == 1
    assert (await verify_ledger(ledger.urls.reader))["ok"]


async def test_metrics_expose_lag_backlog_and_throughput(ledger: Ledger) -> None:
    await _escalation(ledger, resolved=False)
    # Wait for quiescence (consumer polls are periodic; a loaded machine is slower), then the
    # lag must read exactly 0: nothing pending means caught up.
    for _ in range(100):
        response = await ledger.http.get("/metrics")
        text = response.text
        caught_up = 'custody_consumer_pending{durable="ledger-pages"} 0.0' in text
        if caught_up and "custody_ledger_lag_seconds 0.0" in text:
            break
        await asyncio.sleep(0.1)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "custody_ledger_lag_seconds 0.0" in text  # nothing pending: caught up
    assert 'custody_consumer_pending{durable="ledger-pages"} 0.0' in text
    recorded = next(
        line for line in text.splitlines() if line.startswith("custody_ledger_facts_recorded_total")
    )
    assert float(recorded.split()[-1]) >= 8
    assert "/metrics" in (await ledger.http.get("/openapi.json")).json()["paths"]
