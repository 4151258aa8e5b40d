"""Run one service process: start its broker (and HTTP app), stop cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import structlog
import uvicorn

from custody import durability, observability
from custody.bus.worker import consumers_of
from custody.settings import CommonSettings

if TYPE_CHECKING:
    from faststream.nats import NatsBroker

log = structlog.get_logger(__name__)

Hook = Callable[[], Awaitable[None]]


async def _guard(service: str, broker: NatsBroker) -> None:
    """Refuse to start on a bus that could lose acknowledged messages (durability.py)."""
    problems = await durability.jetstream_violations(broker.connection.jetstream(), service)
    monitor = CommonSettings().nats_monitor_url
    if monitor:
        varz = await asyncio.to_thread(durability.fetch_varz, monitor)
        problems += durability.server_violations(varz)
    if problems:
        log.error("service.durability_refused", problems=problems)
    durability.refuse(problems)


async def serve(
    service: str,
    broker: NatsBroker,
    *,
    http_app: Any | None = None,
    http_factory: Callable[[], Any] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    on_start: Hook | None = None,
    on_stop: Hook | None = None,
    before_broker_stop: Hook | None = None,
) -> None:
    """Connect, start the pull consumers (bus.worker), serve HTTP if given, and block until
    told to stop.

    `http_factory` builds the ASGI app after `on_start`, for apps that need live handles.
    `before_broker_stop` releases subscriptions made outside FastStream: the broker drains
    its connection on stop, and a subscription left open makes that wait its full timeout."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    await broker.connect()
    await _guard(service, broker)
    if on_start is not None:
        await on_start()
    await broker.start()
    consumers = consumers_of(broker)
    await consumers.start(broker)
    if http_factory is not None:
        http_app = http_factory()
    js = broker.connection.jetstream()
    probe = observability.durables_probe(js, service, lambda: broker.connection.is_connected)
    poller = asyncio.create_task(observability.poll_consumers(js, service))
    common = CommonSettings()
    if http_app is not None:
        observability.add_routes(http_app, probe)
    elif common.health_port:
        # Services without an HTTP API still answer /healthz, /readyz and /metrics.
        http_app = observability.health_app(service, probe)
        host, port = common.health_host, common.health_port
    server: uvicorn.Server | None = None
    server_task: asyncio.Task[None] | None = None
    if http_app is not None:
        config = uvicorn.Config(
            http_app, host=host, port=port, log_level="warning", lifespan="on", access_log=False
        )
        server = uvicorn.Server(config)
        server_task = asyncio.create_task(server.serve())
    log.info("service.started", port=port if http_app is not None else None)
    stopper = asyncio.create_task(stop.wait())
    waiters: set[asyncio.Task[Any]] = {stopper}
    if server_task is not None:
        waiters.add(server_task)
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    log.info("service.stopping")
    if server is not None and server_task is not None:
        server.should_exit = True
        await server_task
    poller.cancel()
    await consumers.stop()
    if before_broker_stop is not None:
        await before_broker_stop()
    await broker.stop()
    if on_stop is not None:
        await on_stop()
    stopper.cancel()
    log.info("service.stopped")
