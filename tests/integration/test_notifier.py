"""The notifier against a real nats-server: at most one page per unit (invariant 5), under
duplicates, crashed senders, acks that race a queued page, and failing providers."""

import asyncio
import inspect
import json
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

import custody.policy
from custody import clock, subjects
from custody.bus.provisioning import provision_jetstream
from custody.bus.publishing import MSG_ID_HEADER, headers_for
from custody.bus.worker import consumers_of
from custody.contracts import PageRequested, ProofPacket, Severity
from custody.policy.store import apply_policy
from custody.runtime.nats_server import NatsServer
from custody.settings import NotifierSettings
from custody_notifier.adapters.channels import Channel, DeliveryFailed, JsonLinesSink
from custody_notifier.app import build
from custody_notifier.domain.claims import Claim, claim_key
from custody_notifier.domain.render import RenderedPage

WAIT_S = 8.0


@dataclass
class Bus:
    nc: Client
    js: JetStreamContext
    claims: KeyValue
    escalations: KeyValue
    announced: list[tuple[str, str]] = field(default_factory=list)  # (subject, event id)


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[Bus]:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await provision_jetstream(js)
    policy = custody.policy.load_policy(Path(custody.policy.__file__).parent / "example.yaml")
    await apply_policy(await js.key_value(subjects.KV_POLICY), policy, "test", clock.now())
    bus = Bus(
        nc,
        js,
        await js.key_value(subjects.KV_PAGE_CLAIMS),
        await js.key_value(subjects.KV_ESCALATIONS),
    )

    async def seen(msg: Msg) -> None:
        bus.announced.append((msg.subject, (msg.headers or {}).get(MSG_ID_HEADER, "")))

    # A core subscription sees every announcement, even one JetStream drops as a duplicate:
    # that is how a test knows a redelivered page has been fully handled.
    sub = await nc.subscribe("pages.*.*", cb=seen)
    yield bus
    await sub.unsubscribe()
    await nc.close()


@asynccontextmanager
async def notifier(
    url: str, sink_dir: Path, channels: Mapping[str, Channel] | None = None
) -> AsyncIterator[Path]:
    """The real wiring of app.py, in-process; yields the sink file."""
    settings = NotifierSettings(
        nats_url=url, sink_dir=sink_dir, public_url="https://c.test", data_dir=sink_dir
    )
    built = build(settings, channels)
    await built.broker.connect()
    await built.on_start()
    await built.broker.start()
    await consumers_of(built.broker).start(built.broker)
    try:
        yield settings.sink_path()
    finally:
        await consumers_of(built.broker).stop()
        await built.broker.stop()
        await built.on_stop()


def new_page(escalation_id: str, **overrides: Any) -> PageRequested:
    fields: dict[str, Any] = {
        "event_id": f"page_requested:{escalation_id}:1:bob:sms:1",
        "escalation_id": escalation_id,
        "occurred_at": clock.now(),
        "page_id": f"{escalation_id}:1:bob:sms:1",
        "recipient": "bob",
        "channel": "sms",
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


async def set_state(bus: Bus, escalation_id: str, state: str, epoch: int = 1) -> None:
    doc = {"state": state, "epoch": epoch, "version": epoch, "custodian": None}
    await bus.escalations.put(escalation_id, json.dumps(doc).encode())


async def request(bus: Bus, page: PageRequested, msg_id: str | None = None) -> None:
    """Publish like the escalator does; a different msg_id passes JetStream's dedup, as a
    redelivery or a duplicate request would."""
    extra = {MSG_ID_HEADER: msg_id} if msg_id else None
    ack = await bus.js.publish(
        subjects.page_requested(page.escalation_id),
        page.to_json(),
        headers=headers_for(page, extra),
    )
    assert not ack.duplicate


async def stored(bus: Bus, outcome: str, escalation_id: str) -> int:
    """How many `outcome` facts for this escalation the PAGES stream holds."""
    subject = subjects.page_outcome(outcome, escalation_id)
    info = await bus.js.stream_info(subjects.PAGES, subjects_filter=subject)
    return (info.state.subjects or {}).get(subject, 0)


def announcements(bus: Bus, outcome: str, escalation_id: str) -> int:
    subject = subjects.page_outcome(outcome, escalation_id)
    return sum(1 for s, _ in bus.announced if s == subject)


async def eventually(check: Callable[[], object], what: str) -> None:
    """Poll until `check()` (or what it awaits to) is truthy."""
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while asyncio.get_running_loop().time() < deadline:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def announced_twice(bus: Bus, escalation_id: str) -> bool:
    return announcements(bus, "sent", escalation_id) == 2


def sink_lines(path: Path, escalation_id: str) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line["escalation_id"] == escalation_id]


def escalation() -> str:
    return f"esc-{uuid.uuid4().hex[:12]}"


class Recording:
    """A provider that records each call and then behaves as told."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[str] = []
        self.error = error

    async def send(self, page: RenderedPage, address: str, idempotency_key: str) -> str:
        self.calls.append(idempotency_key)
        if self.error is not None:
            raise self.error
        return "rec-1"


# --- tests ---------------------------------------------------------------------------------


async def test_one_page_one_fact_even_when_the_request_is_delivered_twice(
    bus: Bus, nats_server: NatsServer, tmp_path: Path
) -> None:
    esc = escalation()
    await set_state(bus, esc, "offered", epoch=1)
    page = new_page(esc)
    async with notifier(nats_server.url, tmp_path) as sink:
        await request(bus, page)
        await eventually(lambda: stored(bus, "sent", esc), "page_sent")
        lines = sink_lines(sink, esc)
        assert len(lines) == 1
        assert lines[0]["address"] == "+46700000002"  # bob's sms contact in the policy
        assert lines[0]["body"].splitlines()[0] == (
            "[CUSTODY:RED] checkout-api auth-chain-break (prod)"
        )
        assert lines[0]["body"].splitlines()[-1] == (
            f'Case: https://c.test/e/{esc}   Ack: reply "ack {esc[-4:]}"'
        )

        await request(bus, page, msg_id=f"again:{page.event_id}")
        await eventually(lambda: announcements(bus, "sent", esc) == 2, "the re-announcement")

        assert len(sink_lines(sink, esc)) == 1
        assert await stored(bus, "sent", esc) == 1  # same event id: JetStream deduplicated it
        outcomes = [(s, i) for s, i in bus.announced if s.endswith(esc) and ".requested." not in s]
        assert outcomes == [(subjects.page_outcome("sent", esc), f"page_sent:{page.page_id}")] * 2
        claim = Claim.from_json((await bus.claims.get(claim_key(page))).value)
        assert claim.status == "sent"
        assert claim.page_id == page.page_id


async def test_a_claim_left_by_a_crashed_sender_is_in_doubt_and_never_resent(
    bus: Bus, nats_server: NatsServer, tmp_path: Path
) -> None:
    esc = escalation()
    await set_state(bus, esc, "offered", epoch=1)
    page = new_page(esc)
    crashed = Claim(status="claimed", page_id=page.page_id, claimed_at="2026-11-22T02:14:00Z")
    await bus.claims.create(claim_key(page), crashed.to_json())
    async with notifier(nats_server.url, tmp_path) as sink:
        await request(bus, page)
        await eventually(lambda: stored(bus, "in_doubt", esc), "page_in_doubt")
        assert sink_lines(sink, esc) == []
        assert await stored(bus, "sent", esc) == 0


@pytest.mark.parametrize(
    ("state", "epoch"), [("accepted", 1), ("resolved", 1), ("offered", 2)], ids=str
)
async def test_no_page_once_the_escalation_moved_on(
    bus: Bus, nats_server: NatsServer, tmp_path: Path, state: str, epoch: int
) -> None:
    esc = escalation()
    await set_state(bus, esc, state, epoch=epoch)
    page = new_page(esc, epoch=1)
    async with notifier(nats_server.url, tmp_path) as sink:
        await request(bus, page)
        await eventually(lambda: stored(bus, "skipped", esc), "page_skipped")
        assert sink_lines(sink, esc) == []
        assert await stored(bus, "sent", esc) == 0
        with pytest.raises(nats.js.errors.KeyNotFoundError):
            await bus.claims.get(claim_key(page))


async def test_a_page_waits_for_escalation_state_written_late(
    bus: Bus, nats_server: NatsServer, tmp_path: Path
) -> None:
    esc = escalation()
    async with notifier(nats_server.url, tmp_path) as sink:
        await request(bus, new_page(esc))
        await asyncio.sleep(0.3)
        assert await stored(bus, "sent", esc) == 0
        await set_state(bus, esc, "offered", epoch=1)
        await eventually(lambda: stored(bus, "sent", esc), "page_sent after a nak")
        assert len(sink_lines(sink, esc)) == 1


async def test_a_refused_send_is_failed_once_and_never_retried_by_the_notifier(
    bus: Bus, nats_server: NatsServer, tmp_path: Path
) -> None:
    esc = escalation()
    await set_state(bus, esc, "offered", epoch=1)
    page = new_page(esc, channel="email")
    provider = Recording(DeliveryFailed("550 mailbox unavailable"))
    async with notifier(nats_server.url, tmp_path, {"email": provider}):
        await request(bus, page)
        await eventually(lambda: stored(bus, "failed", esc), "page_failed")
        await request(bus, page, msg_id=f"again:{page.event_id}")
        await eventually(lambda: announcements(bus, "failed", esc) == 2, "the re-announcement")
    assert provider.calls == [page.page_id]
    assert await stored(bus, "failed", esc) == 1
    assert Claim.from_json((await bus.claims.get(claim_key(page))).value).status == "failed"


async def test_a_send_with_unknown_outcome_is_in_doubt_and_never_retried(
    bus: Bus, nats_server: NatsServer, tmp_path: Path
) -> None:
    esc = escalation()
    await set_state(bus, esc, "offered", epoch=1)
    page = new_page(esc, channel="chat")
    provider = Recording(TimeoutError("provider did not answer"))
    async with notifier(nats_server.url, tmp_path, {"chat": provider}):
        await request(bus, page)
        await eventually(lambda: stored(bus, "in_doubt", esc), "page_in_doubt")
        await request(bus, page, msg_id=f"again:{page.event_id}")
        await eventually(lambda: announcements(bus, "in_doubt", esc) == 2, "the re-announcement")
    assert provider.calls == [page.page_id]
    assert await stored(bus, "sent", esc) == 0
    assert Claim.from_json((await bus.claims.get(claim_key(page))).value).status == "in_doubt"


async def test_a_recipient_without_that_contact_fails_without_a_send(
    bus: Bus, nats_server: NatsServer, tmp_path: Path
) -> None:
    esc = escalation()
    await set_state(bus, esc, "offered", epoch=1)
    page = new_page(esc, channel="webhook")  # nobody in the example policy has a webhook
    async with notifier(nats_server.url, tmp_path) as sink:
        await request(bus, page)
        await eventually(lambda: stored(bus, "failed", esc), "page_failed")
        assert sink_lines(sink, esc) == []


async def test_many_pages_at_once_each_go_out_exactly_once(
    bus: Bus, nats_server: NatsServer, tmp_path: Path
) -> None:
    escs = [escalation() for _ in range(30)]
    for esc in escs:
        await set_state(bus, esc, "offered", epoch=1)
    sink_path = tmp_path / "pages.jsonl"
    sink = JsonLinesSink(sink_path)
    async with notifier(nats_server.url, tmp_path, {"sms": sink}):
        for esc in escs:  # every page requested twice, under two different message ids
            await request(bus, new_page(esc))
            await request(bus, new_page(esc), msg_id=f"dup:{esc}")
        for esc in escs:
            await eventually(partial(announced_twice, bus, esc), "both announced")
    for esc in escs:
        assert len(sink_lines(sink_path, esc)) == 1, esc
        assert await stored(bus, "sent", esc) == 1
        # a copy that found the other mid-send waited for it, rather than crying in-doubt
        assert announcements(bus, "in_doubt", esc) == 0


async def test_a_page_sent_before_an_ack_is_never_reported_as_skipped(
    bus: Bus, nats_server: NatsServer, tmp_path: Path
) -> None:
    esc = escalation()
    await set_state(bus, esc, "offered", epoch=1)
    page = new_page(esc)
    async with notifier(nats_server.url, tmp_path) as sink:
        await request(bus, page)
        await eventually(lambda: stored(bus, "sent", esc), "page_sent")
        await set_state(bus, esc, "accepted", epoch=1)  # bob acked
        await request(bus, page, msg_id=f"again:{page.event_id}")  # then a late redelivery
        await eventually(lambda: announcements(bus, "sent", esc) == 2, "the re-announcement")
        assert await stored(bus, "skipped", esc) == 0
        assert len(sink_lines(sink, esc)) == 1
