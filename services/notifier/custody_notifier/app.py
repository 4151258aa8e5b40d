"""Wiring only: settings, telemetry, broker, KV stores, channels, the two pull consumers, the
batch scheduler and (when a port is set) the delivery-receipts endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from faststream.nats import NatsBroker
from nats.js.kv import KeyValue

from custody import lifecycle, subjects, telemetry
from custody.auth.links import load_keys
from custody.bus.connection import make_broker
from custody.bus.worker import Consumer, consumers_of
from custody.policy.store import PolicyCache
from custody.settings import NotifierSettings
from custody_notifier.adapters.channels import Channel, Channels
from custody_notifier.adapters.claim_store import ClaimStore
from custody_notifier.adapters.delivery_store import DeliveryStore
from custody_notifier.adapters.escalations import read_escalation
from custody_notifier.adapters.providers import build_channels
from custody_notifier.batches import Batches
from custody_notifier.domain.claims import EscalationView
from custody_notifier.handlers import Notifier
from custody_notifier.linking import Linker
from custody_notifier.notices import Notices
from custody_notifier.pages import PageSender, Timing
from custody_notifier.receipts import RECEIPT_PATH, ReceiptIndex, Receipts
from custody_notifier.throttles import Throttles

# Pages are independent of each other, so one fetch may run several sends concurrently.
BATCH_SIZE = 16
HTTP_TIMEOUT_S = 5.0  # one provider request; a whole send is bounded by send_timeout_s


@dataclass
class Built:
    broker: NatsBroker
    notifier: Notifier
    on_start: Callable[[], Awaitable[None]]
    on_stop: Callable[[], Awaitable[None]]
    http_factory: Callable[[], Any] | None = None
    parts: dict[str, Any] = field(default_factory=dict)


def build(
    settings: NotifierSettings, channels: Mapping[str, Channel] | Channels | None = None
) -> Built:
    """The broker with its subscribers; on_start binds the KV stores and starts the batch
    scheduler, on_stop stops it and closes the HTTP client."""
    broker = make_broker(settings, "notifier")
    notifier = Notifier(broker)
    client = httpx.AsyncClient(timeout=HTTP_TIMEOUT_S)
    chosen = _channels(settings, client, channels)
    _subscribe(broker, notifier)
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    built = Built(broker, notifier, on_start=_noop, on_stop=_noop)

    async def on_start() -> None:
        parts = await _bind(settings, broker, chosen)
        notifier.bind(parts["pages"], parts["notices"], parts["batches"])
        built.parts.update(parts)
        tasks.append(asyncio.create_task(parts["batches"].run(settings.scheduler_period_s, stop)))

    async def on_stop() -> None:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.aclose()

    built.on_start, built.on_stop = on_start, on_stop
    if settings.receipts_port:
        url = f"{(settings.receipts_url or '').rstrip('/')}{RECEIPT_PATH}"
        built.http_factory = lambda: Receipts(
            built.parts["receipts"], built.parts["pages"], settings.sms_auth_token, url
        ).app()
    return built


def _channels(
    settings: NotifierSettings,
    client: httpx.AsyncClient,
    given: Mapping[str, Channel] | Channels | None,
) -> Channels:
    if given is None:
        return build_channels(settings, client)
    return given if isinstance(given, Channels) else Channels.same(given)


def _subscribe(broker: NatsBroker, notifier: Notifier) -> None:
    """Both handlers settle their own messages (handlers.settle, with exact nak delays)."""
    consumers = consumers_of(broker)
    consumers.add(Consumer(subjects.NOTIFIER_PAGES, notifier.on_page_requested, BATCH_SIZE))
    consumers.add(Consumer(subjects.NOTIFIER_CUSTODY, notifier.on_custody_changed, BATCH_SIZE))


async def _bind(
    settings: NotifierSettings, broker: NatsBroker, channels: Channels
) -> dict[str, Any]:
    kv = broker.key_value
    escalations = await kv(subjects.KV_ESCALATIONS, declare=False)
    policy = PolicyCache(await kv(subjects.KV_POLICY, declare=False))
    delivery = DeliveryStore(await kv(subjects.KV_DELIVERY, declare=False))
    timing = Timing(settings.send_timeout_s, timedelta(seconds=settings.claim_lease_s))
    claims = ClaimStore(
        await kv(subjects.KV_PAGE_CLAIMS, declare=False), finish_budget_s=timing.finish_budget_s
    )
    pages = _pages(settings, broker, channels, claims, escalations, policy, delivery, timing)
    notices = Notices(
        dict(channels.notices),
        ClaimStore(delivery.kv),
        policy,
        case_url_base=settings.public_url,
        send_timeout_s=settings.send_timeout_s,
        claim_lease=timing.claim_lease,
    )
    batches = Batches(
        delivery,
        escalations,
        policy,
        dict(channels.notices),
        case_url_base=settings.public_url,
        at_override=settings.digest_at,
        send_timeout_s=settings.send_timeout_s,
    )
    # ReceiptIndex is a stateless view of KV `delivery`: the endpoint may have its own.
    receipts = ReceiptIndex(delivery)
    return {"pages": pages, "receipts": receipts, "notices": notices, "batches": batches}


def _pages(
    settings: NotifierSettings,
    broker: NatsBroker,
    channels: Channels,
    claims: ClaimStore,
    escalations: KeyValue,
    policy: PolicyCache,
    delivery: DeliveryStore,
    timing: Timing,
) -> PageSender:
    linker = Linker(
        load_keys(settings.link_keys, settings.data_dir),
        delivery,
        links_base=settings.links_base(),
        reply_domain=settings.reply_domain,
        ttl=timedelta(seconds=settings.link_ttl_s),
    )

    async def escalation_of(escalation_id: str) -> EscalationView | None:
        return await read_escalation(escalations, escalation_id)

    inbox = f"{settings.public_url.rstrip('/')}/"
    return PageSender(
        broker,
        dict(channels.pages),
        claims=claims,
        escalations=escalations,
        policy=policy,
        linker=linker,
        throttles=Throttles(broker, claims, delivery, escalation_of, inbox),
        receipts=ReceiptIndex(delivery),
        case_url_base=settings.public_url,
        timing=timing,
    )


async def _noop() -> None:
    return None


async def main() -> None:
    settings = NotifierSettings()
    telemetry.setup("notifier", settings.log_level, settings.trace_file)
    built = build(settings)
    await lifecycle.serve(
        "notifier",
        built.broker,
        on_start=built.on_start,
        on_stop=built.on_stop,
        http_factory=built.http_factory,
        host=settings.receipts_host,
        port=settings.receipts_port,
    )
