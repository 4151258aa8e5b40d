"""The notifier as the tests run it: its real wiring (app.build) in-process, or as a real
process (`custody run notifier`), with real channels pointed at the fake providers; plus a
bus fixture that provisions streams and buckets and observes what the notifier announced."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

import custody.policy
from custody import clock, subjects
from custody.bus.provisioning import provision_jetstream
from custody.bus.publishing import MSG_ID_HEADER, headers_for
from custody.bus.worker import consumers_of
from custody.contracts import CustodyChanged, Message, PageRequested, ProofPacket, Severity
from custody.policy.model import Policy
from custody.policy.store import apply_policy
from custody.settings import NotifierSettings
from custody_notifier.app import Built, build
from tests.fakes.http_sinks import SMS_SID, SMS_TOKEN, Sinks
from tests.fakes.smtp import Smtp

EXAMPLE_POLICY = Path(custody.policy.__file__).parent / "example.yaml"
LINK_KEYS = "k2:link-secret-newest-0123456789,k1:link-secret-older-0123456789"
WEBHOOK_SECRETS = "hook-secret-newest-0123,hook-secret-older-0123"
CHAT_SECRET = "chat-signing-secret-0123"
MAIL_KEY = "mail-signing-key-0123"
WAIT_S = 10.0


@dataclass
class Bus:
    nc: Client
    js: JetStreamContext
    claims: KeyValue
    escalations: KeyValue
    delivery: KeyValue
    announced: list[tuple[str, str]] = field(default_factory=list)  # (subject, event id)

    def announcements(self, outcome: str, escalation_id: str) -> list[str]:
        subject = subjects.page_outcome(outcome, escalation_id)
        return [i for s, i in self.announced if s == subject]

    async def stored(self, outcome: str, escalation_id: str) -> int:
        subject = subjects.page_outcome(outcome, escalation_id)
        info = await self.js.stream_info(subjects.PAGES, subjects_filter=subject)
        return (info.state.subjects or {}).get(subject, 0)

    async def offered(self, escalation_id: str, epoch: int = 1, recipient: str = "bob") -> None:
        """Stand in for the escalator: the escalation is offered at `epoch`."""
        doc = {
            "state": "offered",
            "epoch": epoch,
            "version": epoch,
            "custodian": recipient,
            "levels": [{"number": 1, "recipients": [recipient]}],
        }
        await self.escalations.put(escalation_id, json.dumps(doc).encode())

    async def request(self, page: PageRequested, msg_id: str | None = None) -> None:
        extra = {MSG_ID_HEADER: msg_id} if msg_id else None
        await self.js.publish(
            subjects.page_requested(page.escalation_id),
            page.to_json(),
            headers=headers_for(page, extra),
        )

    async def fact(self, fact: Message, subject: str, msg_id: str | None = None) -> None:
        extra = {MSG_ID_HEADER: msg_id} if msg_id else None
        await self.js.publish(subject, fact.to_json(), headers=headers_for(fact, extra))


@asynccontextmanager
async def bus_for(url: str, policy: Policy | None = None) -> AsyncIterator[Bus]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await provision_jetstream(js)
    chosen = policy or custody.policy.load_policy(EXAMPLE_POLICY)
    await apply_policy(await js.key_value(subjects.KV_POLICY), chosen, "test", clock.now())
    bus = Bus(
        nc,
        js,
        await js.key_value(subjects.KV_PAGE_CLAIMS),
        await js.key_value(subjects.KV_ESCALATIONS),
        await js.key_value(subjects.KV_DELIVERY),
    )

    async def seen(msg: Msg) -> None:
        bus.announced.append((msg.subject, (msg.headers or {}).get(MSG_ID_HEADER, "")))

    sub = await nc.subscribe("pages.*.*", cb=seen)
    try:
        yield bus
    finally:
        await sub.unsubscribe()
        await nc.close()


def real_settings(
    url: str, data_dir: Path, sinks: Sinks | None, smtp: Smtp | None, **extra: Any
) -> NotifierSettings:
    """Every channel real, pointed at the fakes (those given)."""
    fields: dict[str, Any] = {
        "nats_url": url,
        "data_dir": data_dir,
        "sink_dir": data_dir / "sink",
        "public_url": "https://custody.test",
        "links_url": "https://intake.test",
        "link_keys": LINK_KEYS,
        "webhook_secrets": WEBHOOK_SECRETS,
        "retry_base_s": 0.01,
        "scheduler_period_s": 3600.0,  # tests tick the batches by hand
        "sms_window_s": 0.0,  # the bundling test turns it on, for a number of its own
    }
    if sinks is not None:
        fields |= {
            "sms_base_url": sinks.url,
            "sms_account_sid": SMS_SID,
            "sms_auth_token": SMS_TOKEN,
            "sms_from": "+15550000000",
            "chat_webhook_url": f"{sinks.url}/chat",
        }
    if smtp is not None:
        fields |= {"smtp_host": smtp.host, "smtp_port": smtp.port, "smtp_from": "custody@test"}
    return NotifierSettings(**(fields | extra))


@asynccontextmanager
async def running_notifier(settings: NotifierSettings) -> AsyncIterator[Built]:
    built = build(settings)
    await built.broker.connect()
    await built.on_start()
    await built.broker.start()
    await consumers_of(built.broker).start(built.broker)
    try:
        yield built
    finally:
        await consumers_of(built.broker).stop()
        await built.broker.stop()
        await built.on_stop()


def notifier_process(settings_env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`custody run notifier` as its own process (for kill -9)."""
    env = {**os.environ, **settings_env, "PYTHONUNBUFFERED": "1"}
    out = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "custody", "run", "notifier"], env=env, stdout=out, stderr=out
    )


def new_page(escalation_id: str, **overrides: Any) -> PageRequested:
    channel = overrides.pop("channel", "sms")
    recipient = overrides.pop("recipient", "bob")
    page_id = f"{escalation_id}.l1.{recipient}.{channel}.a1"
    fields: dict[str, Any] = {
        "event_id": f"page:{page_id}",
        "escalation_id": escalation_id,
        "occurred_at": clock.now(),
        "page_id": page_id,
        "recipient": recipient,
        "channel": channel,
        "level": 1,
        "attempt": 1,
        "epoch": 1,
        "title": "checkout-api auth-chain-break (prod)",
        "severity": Severity.RED,
        "raised_by": "monitor-1",
        "detected_at": clock.now(),
        "proof": ProofPacket(diagnosis="JWT signing key rotated", agent_action="stopped"),
    }
    fields.update(overrides)
    return PageRequested(**fields)


def custody_fact(escalation_id: str, change: str, **overrides: Any) -> CustodyChanged:
    fields: dict[str, Any] = {
        "event_id": f"{escalation_id}:v{overrides.get('version', 3)}:{change}",
        "escalation_id": escalation_id,
        "occurred_at": clock.now(),
        "change": change,
        "state": "accepted",
        "custodian": "carol",
        "level": 2,
        "epoch": 2,
        "version": 3,
        "actor": "carol",
        "title": "checkout-api auth-chain-break (prod)",
        "severity": Severity.RED,
        "raised_by": "monitor-1",
        "offered_to": ("bob", "carol"),
    }
    fields.update(overrides)
    return CustodyChanged(**fields)


def escalation() -> str:
    return f"esc-{uuid.uuid4().hex[:12]}"


async def eventually(check: Callable[[], object], what: str, within: float = WAIT_S) -> Any:
    """Poll until `check()` (or what it awaits to) is truthy; return that value."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {within}s waiting for {what}")
