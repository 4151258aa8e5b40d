"""Intake entry point: wiring only."""

from __future__ import annotations

import asyncio

from faststream.nats import NatsBroker
from pydantic import Field

from custody import clock, lifecycle, subjects, telemetry
from custody.bus.connection import make_broker
from custody.policy.store import PolicyCache
from custody.settings import IntakeSettings
from custody_intake.adapters.dedup_store import DedupStore
from custody_intake.adapters.gateway import Gateway
from custody_intake.adapters.heartbeat_store import HeartbeatStore
from custody_intake.adapters.rejection_log import RejectionLog
from custody_intake.api import Parts, create_app
from custody_intake.door import Door
from custody_intake.handlers import NatsDoor
from custody_intake.raising import Raiser
from custody_intake.watchdog import Watchdog


class IntakeConfig(IntakeSettings):
    """Intake's own knobs beyond the shared settings (CUSTODY_ prefix)."""

    heartbeat_check_s: float = Field(default=1.0, gt=0)  # how often silences are looked for
    admission_budget_s: float = Field(default=1.5, gt=0)  # past it: 503, inside the 2 s promise


async def build(settings: IntakeConfig, broker: NatsBroker) -> Parts:
    """The door and its parts, once the broker is connected."""
    kv = broker.key_value
    gateway = Gateway(
        broker, await kv(subjects.KV_CREDENTIALS, declare=False), settings.accept_timeout_s
    )
    store = DedupStore(
        await kv(subjects.KV_DEDUP, declare=False), await kv(subjects.KV_ESCALATIONS, declare=False)
    )
    raiser = Raiser(gateway, store)
    policies = PolicyCache(await kv(subjects.KV_POLICY, declare=False))

    async def is_admin(name: str) -> bool:
        return name in (await policies.current(clock.monotonic())).policy.admins

    return Parts(
        door=Door(gateway, raiser, settings.admission_budget_s),
        watchdog=Watchdog(HeartbeatStore(await kv(subjects.KV_HEARTBEATS, declare=False)), raiser),
        rejection_log=RejectionLog(broker.connection.jetstream()),
        is_admin=is_admin,
        command_wait_s=settings.command_wait_s,
    )


async def main() -> None:
    settings = IntakeConfig()
    telemetry.setup("intake", settings.log_level, settings.trace_file)
    broker = make_broker(settings, "intake")
    holder: dict[str, Parts] = {}
    stop = asyncio.Event()
    background: list[asyncio.Task[None]] = []
    nats_door: list[NatsDoor] = []

    async def on_start() -> None:
        parts = holder["parts"] = await build(settings, broker)
        door = NatsDoor(parts.door, broker.connection)
        await door.start()
        nats_door.append(door)
        checker = parts.watchdog.run(settings.heartbeat_check_s, stop)
        background.append(asyncio.create_task(checker))

    async def on_stop() -> None:
        stop.set()
        for door in nats_door:
            await door.stop()
        await asyncio.gather(*background, return_exceptions=True)

    await lifecycle.serve(
        "intake",
        broker,
        on_start=on_start,
        on_stop=on_stop,
        http_factory=lambda: create_app(holder["parts"]),
        host=settings.intake_host,
        port=settings.intake_port,
    )
