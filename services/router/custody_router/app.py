"""Router entry point: wiring only."""

from __future__ import annotations

from custody import lifecycle, telemetry
from custody.bus.connection import make_broker
from custody.settings import RouterSettings
from custody_router.handlers import RouterHandlers


async def main() -> None:
    settings = RouterSettings()
    telemetry.setup("router", settings.log_level, settings.trace_file)
    broker = make_broker(settings, "router")
    handlers = RouterHandlers(broker)
    handlers.register()
    await lifecycle.serve("router", broker, on_start=handlers.start)
