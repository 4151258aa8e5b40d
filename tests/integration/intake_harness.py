"""Intake in-process against a real nats-server: the real wiring of app.py, the real FastAPI
app over httpx's ASGI transport, and helpers to look at what reached the bus."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nats
import uvicorn
from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

import custody.policy
from custody import clock, subjects
from custody.auth import store_principals
from custody.auth.credentials import PrincipalKind
from custody.bus.connection import make_broker
from custody.bus.provisioning import provision_jetstream
from custody.policy.store import apply_policy
from custody.runtime.ports import free_port
from custody_intake.api import Parts, create_app
from custody_intake.app import IntakeConfig, build
from custody_intake.handlers import NatsDoor

EXAMPLE_POLICY = Path(custody.policy.__file__).parent / "example.yaml"


@dataclass
class Intake:
    parts: Parts
    transport: httpx.ASGITransport  # the real app, in-process
    http: httpx.AsyncClient
    broker: NatsBroker
    nc: Client  # a separate client, as an observer (or an agent) would have
    js: JetStreamContext

    async def agent(self, kind: PrincipalKind = "agent", prefix: str = "agent") -> tuple[str, str]:
        """A fresh principal with its own token: tests share one server, never one name."""
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        token = f"tok_{uuid.uuid4().hex}"
        kv = await self.js.key_value(subjects.KV_CREDENTIALS)
        await store_principals(kv, {token: (name, kind)})
        return name, token

    async def revoke(self, token: str, name: str) -> None:
        from custody.auth import hash_token

        kv = await self.js.key_value(subjects.KV_CREDENTIALS)
        doc = {"name": name, "kind": "agent", "revoked": True}
        await kv.put(hash_token(token), json.dumps(doc).encode())

    async def count(self, stream: str, subject: str) -> int:
        info = await self.js.stream_info(stream, subjects_filter=subject)
        return sum((info.state.subjects or {}).values())

    async def messages(self, stream: str, subject: str) -> list[dict[str, Any]]:
        """Every message on `subject` (a filter), oldest first, with its headers."""
        found: list[dict[str, Any]] = []
        info = await self.js.stream_info(stream)
        seq = int(info.state.first_seq)
        while True:
            try:
                msg = await self.js.get_msg(stream, seq, subject=subject, next=True)
            except NotFoundError:
                return found
            seq = int(msg.seq or seq) + 1
            try:
                doc = json.loads(msg.data or b"{}")
            except ValueError:  # another test's poison message on the shared server
                continue
            found.append({**doc, "_headers": dict(msg.headers or {})})

    async def set_state(self, escalation_id: str, state: str) -> None:
        """Stand in for the escalator: the state intake reads to decide dedup vs reopen."""
        kv = await self.js.key_value(subjects.KV_ESCALATIONS)
        doc = {"escalation_id": escalation_id, "state": state}
        await kv.put(escalation_id, json.dumps(doc).encode())


@asynccontextmanager
async def running_intake(nats_url: str, **config: Any) -> AsyncIterator[Intake]:
    settings = IntakeConfig(nats_url=nats_url, **config)
    broker = make_broker(settings, "intake")
    await broker.connect()
    nc = await nats.connect(nats_url, name="intake-test-observer")
    js = nc.jetstream()
    await provision_jetstream(js)
    policy = custody.policy.load_policy(EXAMPLE_POLICY)
    await apply_policy(await js.key_value(subjects.KV_POLICY), policy, "test", clock.now())
    parts = await build(settings, broker)
    nats_door = NatsDoor(parts.door, broker.connection)
    await nats_door.start()
    transport = httpx.ASGITransport(app=create_app(parts))
    http = httpx.AsyncClient(transport=transport, base_url="http://intake", timeout=30)
    try:
        yield Intake(parts, transport, http, broker, nc, js)
    finally:
        await http.aclose()
        await nats_door.stop()
        await nc.close()
        await broker.stop()


def event(source: str, **overrides: Any) -> dict[str, Any]:
    """A valid native event; `overrides` replace top-level fields."""
    body: dict[str, Any] = {
        "source": source,
        "dedup_key": uuid.uuid4().hex,
        "title": "checkout 5xx",
        "severity": "red",
        "service": "checkout",
        "labels": {"env": "prod"},
        "proof": {
            "signal": "5xx rate 40% for 5 min",
            "evidence": [{"label": "dashboard", "url": "https://grafana.test/d/1"}],
            "diagnosis": "JWT signing key rotated;\nall sessions rejected",
            "thresholds": ["customer_impact"],
            "proposed_action": "roll back key rotation",
            "reversible": True,
            "agent_action": "stopped: needs a human",
        },
    }
    body.update(overrides)
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Served:
    url: str
    person_token: str
    agent_token: str
    agent: str


@contextmanager
def served_intake(nats_url: str, **config: Any) -> Iterator[Served]:
    """The real app behind a real uvicorn on a free port, in a thread with its own loop (the
    loop that owns the NATS connection), for tools that speak HTTP from outside."""
    ready: queue.Queue[Served | BaseException] = queue.Queue()
    stop = threading.Event()

    async def serve() -> None:
        async with running_intake(nats_url, **config) as intake:
            _, person_token = await intake.agent(kind="person", prefix="person")
            name, token = await intake.agent()
            port = free_port()
            app = intake.transport.app
            settings = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
            server = uvicorn.Server(settings)
            task = asyncio.create_task(server.serve())
            while not server.started:  # noqa: ASYNC110 (uvicorn has no "started" event)
                await asyncio.sleep(0.02)
            ready.put(Served(f"http://127.0.0.1:{port}", person_token, token, name))
            await asyncio.to_thread(stop.wait)
            server.should_exit = True
            await task

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:
            ready.put(exc)

    thread = threading.Thread(target=run, name="served-intake", daemon=True)
    thread.start()
    first = ready.get(timeout=30)
    if isinstance(first, BaseException):
        raise first
    try:
        yield first
    finally:
        stop.set()
        thread.join(timeout=15)
