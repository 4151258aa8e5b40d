"""Wiring for `custody run ledger`: settings, telemetry, broker, Postgres, handlers, API."""

from __future__ import annotations

import structlog

from custody import lifecycle, subjects, telemetry
from custody.bus.connection import make_broker
from custody.settings import LedgerSettings
from custody_ledger import api, handlers
from custody_ledger.adapters.database import Database
from custody_ledger.adapters.directory import Directory
from custody_ledger.adapters.fact_writer import FactWriter
from custody_ledger.adapters.health import Readiness
from custody_ledger.adapters.reads import Reads

log = structlog.get_logger(__name__)


async def main() -> None:
    settings = LedgerSettings()
    telemetry.setup("ledger", settings.log_level, settings.trace_file)
    broker = make_broker(settings, "ledger")
    database = Database(settings.database_url, min_size=1, max_size=4)
    handlers.register(
        broker, FactWriter(database), subjects.LEDGER_CONSUMERS, batch_size=settings.batch_size
    )
    readiness = Readiness(broker, database, subjects.LEDGER_CONSUMERS)
    http_app = api.create_app(Reads(database), Directory(broker), readiness.checks)

    async def on_start() -> None:
        # Migrate now if Postgres is up; if not, the first write retries it, and until
        # then batches are nakked and wait in JetStream (paging never depends on us).
        try:
            await database.pool()
        except Exception as exc:  # refused, starting up, auth: all just mean "not yet"
            log.warning("ledger.database_unavailable_at_start", error=repr(exc))

    await lifecycle.serve(
        "ledger",
        broker,
        http_app=http_app,
        host=settings.ledger_host,
        port=settings.ledger_port,
        on_start=on_start,
        on_stop=database.close,
    )
