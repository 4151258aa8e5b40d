"""Wiring for `custody run ledger`: settings, telemetry, broker, Postgres, handlers, checkpoints,
metrics, API."""

from __future__ import annotations

import asyncio
import os

import structlog

from custody import lifecycle, subjects, telemetry
from custody.bus.connection import make_broker
from custody.bus.worker import cancel_all
from custody_ledger import api, handlers
from custody_ledger.adapters import signing_key
from custody_ledger.adapters.checkpoint_file import CheckpointFile
from custody_ledger.adapters.checkpointer import Checkpointer, nats_publisher
from custody_ledger.adapters.database import Database
from custody_ledger.adapters.directory import Directory
from custody_ledger.adapters.fact_writer import FactWriter
from custody_ledger.adapters.health import Readiness
from custody_ledger.adapters.metrics import LedgerMetrics, poll_consumers
from custody_ledger.adapters.reads import Reads
from custody_ledger.config import LedgerConfig

log = structlog.get_logger(__name__)


def yield_cpu(increment: int) -> int | None:
    """Lower this process's CPU priority by `increment` (LedgerSettings.ledger_nice says why);
    the niceness now, or None where there is no such thing. Only ever lowered, which needs no
    privilege. Linux keeps niceness per thread, so call it before any thread is started."""
    if not hasattr(os, "nice"):
        return None
    return os.nice(increment) if increment > 0 else os.nice(0)


async def main() -> None:
    settings = LedgerConfig()
    niceness = yield_cpu(settings.ledger_nice)  # first: threads started later inherit it
    telemetry.setup("ledger", settings.log_level, settings.trace_file)
    log.info("ledger.cpu_priority", niceness=niceness)
    broker = make_broker(settings, "ledger")
    database = Database(settings.database_url, min_size=1, max_size=4)
    metrics = LedgerMetrics()
    writer = FactWriter(database)
    specs = subjects.LEDGER_CONSUMERS
    recorder = handlers.register(
        broker, writer, specs, batch_size=settings.batch_size, metrics=metrics
    )
    checkpointer = Checkpointer(
        database,
        signing_key.load_or_create(settings.signing_key_path()),
        CheckpointFile(settings.checkpoint_path()),
        nats_publisher(broker),
        every_n=settings.checkpoint_every,
        every_s=settings.checkpoint_interval_s,
        metrics=metrics,
    )
    readiness = Readiness(broker, database, specs)
    http_app = api.create_app(
        Reads(database), Directory(broker), readiness.checks, writer=writer, metrics=metrics.render
    )
    background: list[asyncio.Task[None]] = []

    async def on_start() -> None:
        # Connect now if Postgres is up; if not, the first write retries, and until then
        # messages wait (held, or in JetStream): paging never depends on us.
        try:
            await database.pool()
        except Exception as exc:  # refused, starting up, auth: all just mean "not yet"
            log.warning("ledger.database_unavailable_at_start", error=repr(exc))
        await recorder.start()
        background.append(asyncio.create_task(checkpointer.run()))
        background.append(asyncio.create_task(poll_consumers(broker, specs, metrics)))

    async def on_stop() -> None:
        await cancel_all(set(background))
        await database.close()

    await lifecycle.serve(
        "ledger",
        broker,
        http_app=http_app,
        host=settings.ledger_host,
        port=settings.ledger_port,
        on_start=on_start,
        on_stop=on_stop,
        before_broker_stop=recorder.stop,
    )
