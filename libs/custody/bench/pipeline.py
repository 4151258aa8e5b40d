"""The full pipeline under load: raised at intake, routed, offered, paged, recorded."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import asyncpg

from custody import clock
from custody.bench.http import HttpError, Pool
from custody.bench.stats import percentile


@dataclass
class Run:
    """Client-side record of every raise: when it was sent and whether it was accepted."""

    raised_at: dict[str, datetime] = field(default_factory=dict)
    failed: int = 0
    why_failed: dict[str, int] = field(default_factory=dict)  # "HTTP 503", "ConnectionResetError"


@dataclass(frozen=True)
class PipelineResult:
    incidents: int
    incidents_per_s: float
    p50_page_ms: float
    p99_page_ms: float
    p50_ledger_ms: float
    p99_ledger_ms: float
    lost: int
    duplicate_pages: int
    failed_raises: int
    why_failed: dict[str, int] = field(default_factory=dict)


async def raise_load(
    intake_url: str,
    token: str,
    *,
    duration_s: float,
    rate: float | None,
    run: Run,
    progress: Callable[[int], None] | None = None,
    concurrency: int = 48,
    limit: int | None = None,
) -> None:
    """Raise for `duration_s`: as fast as intake takes them (rate None) or at a fixed rate."""
    headers = {"Authorization": f"Bearer {token}"}
    async with Pool(intake_url, concurrency, headers) as http:
        window = asyncio.Semaphore(concurrency)
        start = time.perf_counter()
        tasks: list[asyncio.Task[None]] = []

        async def one(i: int) -> None:
            event = {
                "source": "bench",
                "dedup_key": uuid.uuid4().hex,
                "title": f"bench {i}",
                "severity": "red",
                "service": "checkout",
            }
            try:
                sent = clock.now()
                status, body = await http.post_json("/v1/events", event)
            except (OSError, HttpError, asyncio.IncompleteReadError) as exc:
                status, body = 0, type(exc).__name__
            finally:
                window.release()
            if status == 202:
                run.raised_at[body["escalation_id"]] = sent
            else:
                why = f"HTTP {status} {body}"[:120] if status else str(body)
                run.failed += 1
                run.why_failed[why] = run.why_failed.get(why, 0) + 1
            if progress is not None:
                progress(len(run.raised_at))

        i = 0
        while time.perf_counter() - start < duration_s and (limit is None or i < limit):
            if rate is not None:
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            await window.acquire()  # back-pressure: at most `concurrency` raises in flight
            tasks.append(asyncio.create_task(one(i)))
            i += 1
        await asyncio.gather(*tasks)


def read_sink(sink: Path, ids: set[str]) -> tuple[dict[str, datetime], int]:
    """First page time per escalation, and how many pages repeated a (esc, level, recipient,
    channel, attempt) unit: the duplicate count that must be 0."""
    first: dict[str, datetime] = {}
    seen: set[tuple[str, int, str, str, int]] = set()
    duplicates = 0
    if not sink.exists():
        return first, 0
    for line in sink.read_text().splitlines():
        page = json.loads(line)
        esc = page["escalation_id"]
        if esc not in ids:
            continue
        unit = (esc, page["level"], page["recipient"], page["channel"], page["attempt"])
        if unit in seen:
            duplicates += 1
        seen.add(unit)
        sent = datetime.fromisoformat(page["sent_at"])
        first[esc] = min(first.get(esc, sent), sent)
    return first, duplicates


async def recorded(database_url: str, ids: list[str]) -> dict[str, datetime]:
    """When the ledger recorded each escalation's page_sent fact."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT escalation_id, min(recorded_at) AS at FROM facts "
            "WHERE kind = 'page_sent' AND escalation_id = ANY($1::text[]) GROUP BY escalation_id",
            ids,
        )
    finally:
        await conn.close()
    return {row["escalation_id"]: row["at"] for row in rows}


async def settle(
    run: Run,
    sink: Path,
    database_url: str,
    timeout_s: float,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, datetime], dict[str, datetime], int]:
    """Wait until every accepted incident is paged and recorded (or the timeout)."""
    ids = set(run.raised_at)
    deadline = time.monotonic() + timeout_s
    while True:
        pages, duplicates = read_sink(sink, ids)
        ledger = await recorded(database_url, list(ids))
        if progress is not None:
            progress(len(ledger))
        if (len(pages) >= len(ids) and len(ledger) >= len(ids)) or time.monotonic() > deadline:
            return pages, ledger, duplicates
        await asyncio.sleep(0.5)


def summarise(
    run: Run, pages: dict[str, datetime], ledger: dict[str, datetime], duplicates: int
) -> PipelineResult:
    page_ms = [
        (pages[e] - t).total_seconds() * 1000 for e, t in run.raised_at.items() if e in pages
    ]
    ledger_ms = [
        (ledger[e] - t).total_seconds() * 1000 for e, t in run.raised_at.items() if e in ledger
    ]
    first = min(run.raised_at.values(), default=clock.now())
    last = max(ledger.values(), default=first)
    span = max((last - first).total_seconds(), 1e-9)
    return PipelineResult(
        incidents=len(run.raised_at),
        incidents_per_s=len(ledger) / span,
        p50_page_ms=percentile(page_ms, 50),
        p99_page_ms=percentile(page_ms, 99),
        p50_ledger_ms=percentile(ledger_ms, 50),
        p99_ledger_ms=percentile(ledger_ms, 99),
        lost=len(set(run.raised_at) - set(ledger)),
        duplicate_pages=duplicates,
        failed_raises=run.failed,
        why_failed=dict(run.why_failed),
    )
