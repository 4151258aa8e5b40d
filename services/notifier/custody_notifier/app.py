"""Wiring only: settings, telemetry, broker, KV stores, channels and the page subscriber."""

# No `from __future__ import annotations`: FastStream reads the handler's annotations at runtime.
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from faststream.nats import NatsBroker
from faststream.nats.annotations import NatsMessage

from custody import lifecycle, subjects, telemetry
from custody.bus.connection import make_broker
from custody.bus.consuming import subscriber_kwargs
from custody.policy.store import PolicyCache
from custody.settings import NotifierSettings
from custody_notifier.adapters.channels import Channel, dev_channels
from custody_notifier.handlers import Notifier, Stores

# Pages are independent of each other, so one fetch may run several sends concurrently.
BATCH_SIZE = 16


def build(
    settings: NotifierSettings, channels: Mapping[str, Channel] | None = None
) -> tuple[NatsBroker, Callable[[], Awaitable[None]]]:
    """The broker with its subscriber, and the on_start hook that binds the KV stores."""
    broker = make_broker(settings, "notifier")
    notifier = Notifier(
        broker,
        channels if channels is not None else dev_channels(settings.sink_path()),
        case_url_base=settings.public_url,
    )
    # subscriber_kwargs is a plain dict; FastStream's overloads cannot be matched through it.
    kwargs: Any = subscriber_kwargs(subjects.NOTIFIER_PAGES, batch_size=BATCH_SIZE)

    async def on_page_requested(msg: NatsMessage) -> None:
        await notifier.on_page_requested(msg)

    broker.subscriber(**kwargs)(on_page_requested)

    async def on_start() -> None:
        notifier.bind(
            Stores(
                claims=await broker.key_value(subjects.KV_PAGE_CLAIMS, declare=False),
                escalations=await broker.key_value(subjects.KV_ESCALATIONS, declare=False),
                policy=PolicyCache(await broker.key_value(subjects.KV_POLICY, declare=False)),
            )
        )

    return broker, on_start


async def main() -> None:
    settings = NotifierSettings()
    telemetry.setup("notifier", settings.log_level, settings.trace_file)
    broker, on_start = build(settings)
    await lifecycle.serve("notifier", broker, on_start=on_start)
