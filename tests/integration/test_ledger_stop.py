"""The ledger's pull loops let go of their subscriptions on stop, so the broker's drain on
shutdown does not wait out its timeout (a rolling restart of the ledger took 30 s per replica
before, and the e2e rolling-restart test failed on it)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from custody import subjects
from custody.bus.connection import make_broker
from custody.runtime.nats_server import NatsServer
from custody.settings import LedgerSettings
from custody_ledger import handlers
from custody_ledger.domain.facts import Fact


class NeverCalled:
    async def append(self, facts: Sequence[Fact]) -> int:
        raise AssertionError("no message was published")


async def test_stop_releases_every_subscription_and_the_broker_stops_at_once(
    nats_server: NatsServer,
) -> None:
    broker = make_broker(LedgerSettings(nats_url=nats_server.url), "ledger")
    await broker.connect()
    connection = broker.connection
    before = len(connection._subs)
    recorder = handlers.register(broker, NeverCalled(), subjects.LEDGER_CONSUMERS)
    await recorder.start()
    assert len(connection._subs) == before + len(subjects.LEDGER_CONSUMERS)
    await asyncio.sleep(0.3)  # the loops are fetching (from durables that do not exist here)
    await recorder.stop()
    assert len(connection._subs) == before
    # nats-py's drain waits up to 30 s for open subscriptions: 10 s means it did not wait.
    await asyncio.wait_for(broker.stop(), timeout=10)


class SwallowsCancels:
    """A fetch that eats every cancellation and returns, as Python 3.11's wait_for (inside
    nats-py's fetch) may when a message arrives just as the task is cancelled: under a
    backlog, every time."""

    def __init__(self) -> None:
        self.swallowed = 0

    async def fetch(self, batch: int, timeout: float) -> list[object]:  # noqa: ASYNC109 (nats-py's signature)
        try:
            await asyncio.sleep(timeout)
        except asyncio.CancelledError:
            self.swallowed += 1
        return []


async def test_stop_ends_a_loop_whose_cancellation_was_swallowed(nats_server: NatsServer) -> None:
    broker = make_broker(LedgerSettings(nats_url=nats_server.url), "ledger")
    recorder = handlers.register(broker, NeverCalled(), ())
    sub = SwallowsCancels()
    spec = subjects.LEDGER_CONSUMERS[0]
    recorder._tasks.append(asyncio.create_task(recorder._loop(spec, sub)))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    await asyncio.wait_for(recorder.stop(), timeout=10)
    assert sub.swallowed >= 1
