"""Intake in-process for the callback tests: the real app (create_app, so the callbacks are
mounted the way production mounts them), a stand-in escalator that answers commands and
records every one, and the notifier's own Linker to sign links and bind replies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import nats
import pytest
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from custody import clock, subjects
from custody.auth.links import LinkKeys
from custody.bus.connection import make_broker
from custody.bus.publishing import headers_for
from custody.contracts import CommandIssued, CommandOutcome
from custody_intake.api import create_app
from custody_intake.app import IntakeConfig, build
from custody_notifier.adapters.delivery_store import DeliveryStore
from custody_notifier.linking import Linker
from tests.fakes.callbacks import CallbackClient
from tests.fakes.http_sinks import SMS_TOKEN
from tests.fakes.notifier import CHAT_SECRET, LINK_KEYS, MAIL_KEY, WEBHOOK_SECRETS

BASE = "http://intake.test"


@dataclass
class Escalator:
    """Answers every command as accepted and keeps them, so a test can assert that exactly
    the expected commands (and nothing more) reached the escalator."""

    js: JetStreamContext
    commands: list[CommandIssued] = field(default_factory=list)
    refuse_actors: set[str] = field(default_factory=set)

    async def on_command(self, msg: Msg) -> None:
        cmd = CommandIssued.model_validate_json(msg.data)
        self.commands.append(cmd)
        accepted = cmd.actor not in self.refuse_actors
        outcome = CommandOutcome(
            event_id=f"outcome:{cmd.command_id}",
            escalation_id=cmd.escalation_id,
            occurred_at=clock.now(),
            command_id=cmd.command_id,
            action=cmd.action,
            actor=cmd.actor,
            accepted=accepted,
            error_code=None if accepted else "not_custodian",
            message="" if accepted else f"{cmd.actor} may not act on this escalation",
            state="resolved" if cmd.action == "resolve" else "accepted",
            custodian=cmd.actor,
        )
        await self.js.publish(
            subjects.command_outcome(cmd.escalation_id),
            outcome.to_json(),
            headers=headers_for(outcome),
        )

    def of(self, escalation_id: str) -> list[tuple[str, str, str]]:
        """(action, actor, via) of every command on that escalation."""
        return [
            (c.action, c.actor, c.via) for c in self.commands if c.escalation_id == escalation_id
        ]


@dataclass
class Callbacks:
    http: httpx.AsyncClient
    client: CallbackClient
    escalator: Escalator
    linker: Linker
    js: JetStreamContext

    async def rejected(self, source_prefix: str) -> int:
        info = await self.js.stream_info(subjects.REJECTED, subjects_filter="rejected.>")
        return sum(
            n
            for s, n in (info.state.subjects or {}).items()
            if s.startswith(f"rejected.{source_prefix}")
        )


def callback_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "CUSTODY_LINK_KEYS": LINK_KEYS,
        "CUSTODY_SMS_AUTH_TOKEN": SMS_TOKEN,
        "CUSTODY_CHAT_SIGNING_SECRET": CHAT_SECRET,
        "CUSTODY_MAIL_SIGNING_KEY": MAIL_KEY,
        "CUSTODY_WEBHOOK_SECRETS": WEBHOOK_SECRETS,
        "CUSTODY_CALLBACKS_URL": BASE,
        "CUSTODY_COMMAND_WAIT_S": "3",
    }.items():
        monkeypatch.setenv(name, value)


@asynccontextmanager
async def running_callbacks(nats_url: str, link_keys: str = LINK_KEYS) -> AsyncIterator[Callbacks]:
    """Needs callback_env() applied; the bus provisioned and a policy applied."""
    broker = make_broker(IntakeConfig(nats_url=nats_url), "intake")
    await broker.connect()
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    escalator = Escalator(js)
    sub = await nc.subscribe("commands.>", cb=escalator.on_command)
    parts = await build(IntakeConfig(nats_url=nats_url), broker)
    app = create_app(parts)
    linker = Linker(
        LinkKeys.parse(link_keys),
        DeliveryStore(await js.key_value(subjects.KV_DELIVERY)),
        links_base=BASE,
        reply_domain="reply.test",
        ttl=timedelta(hours=1),
    )
    transport = httpx.ASGITransport(app=app)
    http = httpx.AsyncClient(transport=transport, base_url=BASE, timeout=30)
    client = CallbackClient(
        http,
        base_url=BASE,
        sms_token=SMS_TOKEN,
        chat_secret=CHAT_SECRET,
        mail_key=MAIL_KEY,
        webhook_secrets=[s.encode() for s in WEBHOOK_SECRETS.split(",")],
    )
    try:
        yield Callbacks(http, client, escalator, linker, js)
    finally:
        await http.aclose()
        await sub.unsubscribe()
        await nc.close()
        await broker.stop()


def as_json(response: httpx.Response) -> dict[str, object]:
    try:
        data = response.json()
    except json.JSONDecodeError:
        return {"_text": response.text}
    return data if isinstance(data, dict) else {"_value": data}
