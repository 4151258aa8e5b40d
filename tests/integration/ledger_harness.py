"""The ledger in-process against real NATS and Postgres, wired as app.py wires it, logged in
as `ledger_app` on a database migrated by the superuser (as `custody provision` does)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from faststream.nats import NatsBroker

import custody.policy
from custody import clock, subjects
from custody.auth.credentials import store_principals
from custody.bus.connection import make_broker
from custody.bus.provisioning import provision_jetstream
from custody.bus.publishing import publish
from custody.bus.worker import cancel_all
from custody.policy.loader import load_policy
from custody.policy.store import apply_policy
from custody.runtime.nats_server import NatsServer
from custody.settings import LedgerSettings
from custody_ledger import api, handlers
from custody_ledger.adapters import signing_key
from custody_ledger.adapters.checkpoint_file import CheckpointFile
from custody_ledger.adapters.checkpointer import Checkpointer, nats_publisher
from custody_ledger.adapters.database import Database
from custody_ledger.adapters.directory import Directory
from custody_ledger.adapters.fact_writer import FactWriter
from custody_ledger.adapters.health import Readiness
from custody_ledger.adapters.metrics import LedgerMetrics, poll_consumers
from custody_ledger.adapters.reads import Reads
from custody_ledger.migrate import migrate
from tests.unit.ledger import factories as f

PEOPLE = ("alice", "bob", "carol", "dave", "monitor-1")


@dataclass(frozen=True)
class Urls:
    admin: str  # the superuser: migrations, and tampering in tests
    app: str  # ledger_app: what the service logs in as
    owner: str
    reader: str


@dataclass
class Ledger:
    broker: NatsBroker
    database: Database
    urls: Urls
    http: httpx.AsyncClient
    tokens: dict[str, str]
    writer: FactWriter
    metrics: LedgerMetrics
    checkpointer: Checkpointer
    key_path: Path
    checkpoint_file: CheckpointFile
    recorder: handlers.Recorder
    background: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.urls.app

    async def publish(self, sent: f.Sent) -> None:
        subject, message = sent
        await publish(self.broker, subject, message)

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        async with self.database.connection() as conn:
            return list(await conn.fetch(sql, *args))

    async def get(self, path: str, who: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return await self.http.get(path, headers=headers)

    async def post(self, path: str, who: str, body: dict[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return await self.http.post(path, headers=headers, json=body)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def new_id() -> str:
    return f"esc-{uuid.uuid4().hex[:10]}"


async def count_facts(ledger: Ledger, eid: str) -> int:
    rows = await ledger.fetch("SELECT count(*) AS n FROM facts WHERE escalation_id = $1", eid)
    return int(rows[0]["n"])


async def has_facts(ledger: Ledger, eid: str, n: int) -> bool:
    return await count_facts(ledger, eid) >= n


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[nats.NATS]:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await provision_jetstream(js)
    # Each test has a fresh database, but the streams and the ledger's durables are shared
    # with every earlier test on this server: without this, the first ledger a test starts
    # records whatever earlier tests (intake's, say) left unread, counts and reports depend
    # on which tests ran before, and verification meets an earlier ledger's checkpoints.
    for stream in {spec.stream for spec in subjects.LEDGER_CONSUMERS} | {subjects.CHECKPOINTS}:
        await js.purge_stream(stream)
    suffix = uuid.uuid4().hex[:6]
    tokens = {name: f"tok-{name}-{suffix}" for name in PEOPLE}
    await store_principals(
        await js.key_value(subjects.KV_CREDENTIALS),
        {
            token: (name, "agent" if name == "monitor-1" else "person")
            for name, token in tokens.items()
        },
    )
    policy = load_policy(Path(custody.policy.__file__).parent / "example.yaml")
    await apply_policy(await js.key_value(subjects.KV_POLICY), policy, "test", clock.now())
    nc.tokens = tokens  # type: ignore[attr-defined]
    yield nc
    await nc.close()


@pytest.fixture
async def ledger_urls(fresh_database: str, tmp_path: Path) -> Urls:
    """A fresh database migrated as `custody provision` migrates it (roles and guard too)."""
    urls = await migrate(fresh_database, role_secrets=tmp_path / "ledger-roles.json")
    return Urls(fresh_database, urls["app"], urls["owner"], urls["reader"])


async def start_ledger(
    nats_url: str,
    urls: Urls,
    tokens: dict[str, str],
    wrap: Callable[[FactWriter], handlers.Writer] = lambda w: w,
    specs: Sequence[subjects.ConsumerSpec] = subjects.LEDGER_CONSUMERS,
    *,
    state_dir: Path,
    every_n: int = 1000,
    every_s: float = 3600.0,
    now: Callable[[], datetime] = clock.now,
) -> Ledger:
    """Checkpoints are only made when a test calls `checkpointer.tick()` (no loop runs)."""
    settings = LedgerSettings(nats_url=nats_url, database_url=urls.app)
    broker = make_broker(settings, "ledger")
    database = Database(urls.app)
    await database.pool()
    writer = FactWriter(database)
    metrics = LedgerMetrics()
    recorder = handlers.register(broker, wrap(writer), specs, batch_size=64, metrics=metrics)
    key_path = state_dir / "ledger-signing.key"
    checkpoint_file = CheckpointFile(state_dir / "ledger-checkpoints.jsonl")
    checkpointer = Checkpointer(
        database,
        signing_key.load_or_create(key_path),
        checkpoint_file,
        nats_publisher(broker),
        every_n=every_n,
        every_s=every_s,
        metrics=metrics,
    )
    readiness = Readiness(broker, database, subjects.LEDGER_CONSUMERS)
    app = api.create_app(
        Reads(database),
        Directory(broker),
        readiness.checks,
        writer=writer,
        metrics=metrics.render,
        now=now,
    )
    await broker.start()
    await recorder.start()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ledger")
    running = Ledger(
        broker, database, urls, http, tokens, writer, metrics, checkpointer, key_path,
        checkpoint_file, recorder,
    )  # fmt: skip
    running.background.append(
        asyncio.create_task(poll_consumers(broker, specs, metrics, interval_s=0.2))
    )
    return running


async def stop_ledger(running: Ledger) -> None:
    await running.recorder.stop()
    await cancel_all(set(running.background))
    await running.http.aclose()
    await running.broker.stop()
    await running.database.close()


@pytest.fixture
async def ledger(
    bus: nats.NATS, nats_server: NatsServer, ledger_urls: Urls, tmp_path: Path
) -> AsyncIterator[Ledger]:
    tokens = bus.tokens  # type: ignore[attr-defined]
    running = await start_ledger(nats_server.url, ledger_urls, tokens, state_dir=tmp_path)
    yield running
    await stop_ledger(running)
