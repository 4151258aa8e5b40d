"""Intake entry point: wiring only."""

from __future__ import annotations

from custody import lifecycle, subjects, telemetry
from custody.bus.connection import make_broker
from custody.settings import IntakeSettings
from custody_intake.adapters.gateway import Gateway
from custody_intake.api import create_app


async def main() -> None:
    settings = IntakeSettings()
    telemetry.setup("intake", settings.log_level, settings.trace_file)
    broker = make_broker(settings, "intake")
    holder: dict[str, Gateway] = {}

    async def on_start() -> None:
        credentials = await broker.key_value(subjects.KV_CREDENTIALS, declare=False)
        holder["gateway"] = Gateway(broker, credentials, settings.accept_timeout_s)

    await lifecycle.serve(
        "intake",
        broker,
        on_start=on_start,
        http_factory=lambda: create_app(holder["gateway"], settings.command_wait_s),
        host=settings.intake_host,
        port=settings.intake_port,
    )
