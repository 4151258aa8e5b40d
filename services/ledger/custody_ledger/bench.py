"""How many facts per second the ledger's writer records on its own, against real Postgres.

    python -m custody_ledger.bench [--facts 30000] [--batch 256] [--runs 3]

No NATS: realistic facts (a raise, its routing, an offer, a page request, a page, an ack) are
built first, then appended by FactWriter, logged in as `ledger_app`, `--batch` facts per
transaction (what one fetch of the handlers gives it), each transaction chaining, deduplicating
and updating every read model. Each run uses a fresh database; the median run is reported.
Postgres is the embedded one (fsync and synchronous_commit on), or DATABASE_URL's (a
superuser's, so the roles can be set up).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from custody.contracts import (
    CustodyChanged,
    IncidentAccepted,
    IncidentEvent,
    Level,
    Message,
    PageOutcome,
    PageRequested,
    ProofPacket,
    RoutingDecided,
    RoutingExplanation,
    Severity,
)
from custody.runtime.postgres import PostgresServer
from custody_ledger.adapters.database import Database
from custody_ledger.adapters.fact_writer import FactWriter
from custody_ledger.domain.facts import Fact, fact_from_wire
from custody_ledger.migrate import migrate

T0 = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
PROOF = ProofPacket(signal="5xx 38%", diagnosis="JWT signing key rotated", reversible=True)


def _messages(eid: str, at: datetime) -> list[tuple[str, Message]]:
    common: dict[str, Any] = {"escalation_id": eid}
    page = {"page_id": f"{eid}:1:bob:sms:1", "recipient": "bob", "channel": "sms", "level": 1,
            "attempt": 1}  # fmt: skip
    explanation = RoutingExplanation(policy_version="p-1", rule="checkout", team="payments",
                                     severity_class="red", inputs={}, schedule={})  # fmt: skip
    return [
        ("INCIDENTS", IncidentAccepted(event_id=f"{eid}:raised", occurred_at=at, raised_by="m-1",
            event=IncidentEvent(source="m-1", dedup_key=eid, title="checkout 5xx",
                                severity=Severity.RED, proof=PROOF), **common)),
        ("ROUTED", RoutingDecided(event_id=f"{eid}:routed", occurred_at=at, title="checkout 5xx",
            severity=Severity.RED, customer_impact=True, raised_by="m-1", proof=PROOF,
            team="payments", levels=(Level(number=1, recipients=("bob",), wait_s=300),),
            last_resort="dave", explanation=explanation, **common)),
        ("CUSTODY", CustodyChanged(event_id=f"{eid}:c1", occurred_at=at, change="offered",
            state="offered", custodian="bob", level=1, epoch=1, version=1, actor="escalator",
            offered_to=("bob",), **common)),
        ("PAGES", PageRequested(event_id=f"{eid}:pr", occurred_at=at, epoch=1,
            title="checkout 5xx", severity=Severity.RED, raised_by="m-1", detected_at=at,
            proof=PROOF, **page, **common)),
        ("PAGES", PageOutcome(event_id=f"{eid}:ps", occurred_at=at, outcome="page_sent",
            **page, **common)),
        ("CUSTODY", CustodyChanged(event_id=f"{eid}:c2", occurred_at=at + timedelta(seconds=60),
            change="acknowledged", state="accepted", custodian="bob", level=1, epoch=2,
            version=2, actor="bob", **common)),
    ]  # fmt: skip


def facts(count: int) -> list[Fact]:
    out: list[Fact] = []
    n = 0
    while len(out) < count:
        eid = f"esc-{uuid.uuid4().hex[:12]}"
        for stream, message in _messages(eid, T0 + timedelta(seconds=n)):
            out.append(fact_from_wire(message.wire(), msg_id=message.event_id, stream=stream,
                                      subject=f"{stream.lower()}.{eid}"))  # fmt: skip
        n += 1
    return out[:count]


async def one_run(superuser_url: str, count: int, batch: int, secrets: Path) -> float:
    """Facts per second for `count` facts appended `batch` at a time into a fresh database."""
    name = f"bench_{uuid.uuid4().hex[:8]}"
    urls = await migrate(f"{superuser_url.rsplit('/', 1)[0]}/{name}", role_secrets=secrets)
    database = Database(urls["app"])
    prepared = facts(count)
    try:
        writer = FactWriter(database)
        await database.pool()
        started = time.perf_counter()
        for start in range(0, count, batch):
            await writer.append(prepared[start : start + batch])
        elapsed = time.perf_counter() - started
    finally:
        await database.close()
        admin = await asyncpg.connect(superuser_url)
        try:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await admin.close()
    return count / elapsed


async def bench(superuser_url: str, count: int, batch: int, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        rates = [await one_run(superuser_url, count, batch, Path(tmp) / "roles.json")
                 for _ in range(runs)]  # fmt: skip
    return {
        "facts": count,
        "batch": batch,
        "runs": [round(r) for r in rates],
        "median_facts_per_s": round(statistics.median(rates)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m custody_ledger.bench", description=__doc__)
    parser.add_argument("--facts", type=int, default=30000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    external = os.environ.get("DATABASE_URL")
    if external:
        result = asyncio.run(bench(external, args.facts, args.batch, args.runs))
    else:
        with tempfile.TemporaryDirectory(prefix="custody-bench-") as root:
            Path(root).chmod(0o711)  # Postgres runs as an unprivileged user when we are root
            server = PostgresServer(Path(root) / "pg")
            server.start()
            try:
                result = asyncio.run(bench(server.url, args.facts, args.batch, args.runs))
            finally:
                server.stop("fast")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
