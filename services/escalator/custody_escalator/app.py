"""Escalator entry point: wiring only."""

from __future__ import annotations

from custody import lifecycle, telemetry
from custody.bus.connection import make_broker
from custody.settings import EscalatorSettings
from custody_escalator.handlers import EscalatorHandlers


async def main() -> None:
    settings = EscalatorSettings()
    telemetry.setup("escalator", settings.log_level, settings.trace_file)
    broker = make_broker(settings, "escalator")
    handlers = EscalatorHandlers(broker)
    handlers.register()
    await lifecycle.serve("escalator", broker, on_start=handlers.start)
