"""The client side of a scenario: raise incidents at a rate, recording each in the history."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import httpx

from custody_intake.domain.identity import escalation_id
from tests.chaos.history import History

SOURCE = "monitor-1"
ATTEMPTS = 10
CONNECTIONS = 32


async def raise_one(
    http: httpx.AsyncClient, history: History, title: str, slots: asyncio.Semaphore
) -> None:
    """Retries reuse the dedup key. 202 is ok; a 4xx other than 429 is fail; anything that
    might have reached the stream (a timeout, a 503 after a publish timeout) is info.

    `slots` bounds the requests in flight to the client's connections: httpcore's pool scans
    its whole queue on every assignment, so thousands of queued requests (the full tier, with
    intake killed every few seconds) made the driver itself the bottleneck."""
    key = uuid.uuid4().hex
    esc = escalation_id(SOURCE, key)
    history.invoke(esc)
    event = {
        "source": SOURCE,
        "dedup_key": key,
        "title": title,
        "severity": "red",
        "service": "checkout",
    }
    last = "no attempt"
    for attempt in range(ATTEMPTS):
        try:
            async with slots:
                response = await http.post("/v1/events", json=event)
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}"
        else:
            if response.status_code == 202:
                history.ok(esc)
                return
            if 400 <= response.status_code < 500 and response.status_code != 429:
                history.fail(esc, f"{response.status_code} {response.text[:100]}")
                return
            last = f"{response.status_code}"
        await asyncio.sleep(min(0.25 * 2**attempt, 2.0))
    history.info(esc, last)


async def drive(intake_url: str, token: str, history: History, count: int, rate: float) -> None:
    limits = httpx.Limits(max_connections=CONNECTIONS)
    slots = asyncio.Semaphore(CONNECTIONS)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=intake_url, headers=headers, limits=limits, timeout=5.0
    ) as http:
        start = time.perf_counter()
        tasks = []
        for i in range(count):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(raise_one(http, history, f"chaos {i}", slots)))
        await asyncio.gather(*tasks)


async def ledger_view(database_url: str) -> tuple[set[str], set[str], int]:
    """(escalations the ledger recorded as raised by our agent, escalations with an in-doubt
    page, how many page_in_doubt facts there are)."""
    conn = await asyncpg.connect(database_url, timeout=5)
    try:
        rows = await conn.fetch(
            "SELECT DISTINCT escalation_id FROM facts WHERE kind = 'raised' AND actor = $1", SOURCE
        )
        doubt = await conn.fetch("SELECT escalation_id FROM facts WHERE kind = 'page_in_doubt'")
    finally:
        await conn.close()
    return {r["escalation_id"] for r in rows}, {r["escalation_id"] for r in doubt}, len(doubt)
