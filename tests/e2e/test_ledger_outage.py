"""Acceptance 3, a Postgres outage under the whole system: Postgres is stopped (immediate
mode, a crash), 50 incidents are raised and all 50 pages still go out; once Postgres is back,
the ledger (logged in as `ledger_app`) records every escalation and all its facts within
30 s, with no duplicates; the lag metric shows the outage; `custody ledger verify` passes
with signed checkpoints, a review is attached after resolve, and `custody report` reads it."""

import asyncio
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import httpx
import nats
import pytest

from custody import subjects
from tests.e2e.conftest import System, running_system

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

INCIDENTS = 50
CATCH_UP_S = 30.0
EVERY_FACT = {"raised", "routed", "offered", "page_requested", "page_sent"}


async def _query(url: str, sql: str, *args: Any) -> list[Any]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def query(system: System, sql: str, *args: Any) -> list[Any]:
    return asyncio.run(_query(system.stack.database_url, sql, *args))


def recorded(system: System, ids: list[str]) -> dict[str, set[str]]:
    """The kinds of fact the ledger holds for each escalation."""
    rows = query(
        system,
        "SELECT escalation_id, kind FROM facts WHERE escalation_id = ANY($1::text[])",
        ids,
    )
    kinds: dict[str, set[str]] = {eid: set() for eid in ids}
    for row in rows:
        kinds[row["escalation_id"]].add(row["kind"])
    return kinds


async def _ledger_backlog(nats_url: str) -> int:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        infos = [await js.consumer_info(s.stream, s.durable) for s in subjects.LEDGER_CONSUMERS]
        return sum(i.num_pending + i.num_ack_pending for i in infos)
    finally:
        await nc.close()


def lag_seconds(system: System) -> float:
    text = httpx.get(f"{system.stack.ledger_url}/metrics", timeout=5).text
    line = next(x for x in text.splitlines() if x.startswith("custody_ledger_lag_seconds "))
    return float(line.split()[-1])


def test_paging_survives_a_postgres_outage_and_the_ledger_catches_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CUSTODY_CHECKPOINT_INTERVAL_S", "1")
    with running_system() as system:
        _run(system)


def _run(system: System) -> None:
    stack = system.stack
    assert stack.postgres is not None
    users = {r["usename"] for r in query(system, "SELECT usename FROM pg_stat_activity")}
    assert "ledger_app" in users  # the ledger logs in as ledger_app, never as the superuser
    before = system.raise_incident()
    system.wait_for("the first escalation recorded", lambda: recorded(system, [before])[before])

    stack.postgres.stop("immediate")
    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(lambda _: system.raise_incident(), range(INCIDENTS)))
    assert len(set(ids)) == INCIDENTS
    system.wait_for(
        "all 50 pages while Postgres is down",
        lambda: {p["escalation_id"] for p in system.pages()} >= set(ids),
        timeout=60,
    )
    system.wait_for("the lag metric to show the outage", lambda: lag_seconds(system) > 1.0)

    stack.postgres.start()
    restarted = time.monotonic()
    system.wait_for(
        "every escalation and its facts recorded",
        lambda: (
            all(kinds >= EVERY_FACT for kinds in recorded(system, ids).values())
            and asyncio.run(_ledger_backlog(stack.admin_nats_url)) == 0
        ),
        timeout=CATCH_UP_S,
    )
    caught_up_s = time.monotonic() - restarted
    print(f"\n[ledger] {INCIDENTS} escalations recorded {caught_up_s:.1f}s after Postgres restart")

    duplicates = query(
        system, "SELECT msg_id FROM facts GROUP BY msg_id HAVING count(*) > 1"
    )  # the UNIQUE constraint says it cannot happen; check anyway
    assert duplicates == []
    sent = Counter(
        r["escalation_id"]
        for r in query(
            system,
            "SELECT escalation_id FROM facts WHERE kind = 'page_sent'"
            " AND escalation_id = ANY($1::text[])",
            ids,
        )
    )
    pages = [p for p in system.pages() if p["escalation_id"] in ids]
    paged = Counter(p["escalation_id"] for p in pages)
    assert sent == paged  # one page_sent fact per page that went out
    assert len({p["page_id"] for p in pages}) == len(pages)  # and no page went out twice
    system.wait_for("the lag back to 0", lambda: lag_seconds(system) == 0.0, timeout=10)

    time.sleep(1.5)  # one checkpoint interval
    verdict = system.cli("ledger", "verify")
    assert verdict["ok"], verdict
    assert verdict["checkpoints"] >= 1
    assert verdict["checkpoint_sources"]["stream"] >= 1  # published to NATS as well
    _review(system, ids[0])
    report = system.cli("report", "--days", "1")
    assert report["totals"]["escalations"] >= INCIDENTS + 1
    assert [r["escalation_id"] for r in report["reviews"]] == [ids[0]]


def _review(system: System, escalation_id: str) -> None:
    """Resolve (as the admin), then attach a post-escalation review as someone in the chain."""
    system.cli("resolve", escalation_id, "--as", "dave")
    system.wait_for(
        "the resolve recorded",
        lambda: system.cli("show", escalation_id, "--as", "dave")["state"] == "resolved",
        timeout=20,
    )
    review = system.cli(
        "review", escalation_id, "--as", "bob", "--threshold-right", "no",
        "--if-earlier", "paged before the outage", "--gap", "alert",
    )  # fmt: skip
    assert (review["author"], review["gap"], review["duplicate"]) == ("bob", "alert", False)
