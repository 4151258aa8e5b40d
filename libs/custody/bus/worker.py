"""Durable pull consumers on nats-py: fetch, run each message's handler, and keep fetching.

Why not FastStream subscribers: its per-message path (dependency injection that resolves the
message through a worker thread, three middlewares, a Prometheus label set) cost the router
and the escalator a third of their CPU, more than their own work (docs/performance.md). Here
a message costs one span, one log context and the handler.

What a handler sees is a `Delivery`: the body, the headers, the raw nats-py message and the
four ways to settle it. `custody.bus.consuming.handle` decides which one (ack after effects,
nak with delay on a transient error, dead-letter then terminate on a permanent one).

Concurrency: up to `concurrency` messages are handled at once, and the loop fetches again as
soon as a slot frees, so a message never waits for the slowest of an earlier fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final

import nats.errors
import structlog
from nats.aio.msg import Msg
from opentelemetry import trace
from opentelemetry.propagate import extract

from custody import observability, subjects
from custody.bus.consuming import delivered_count, handle, inbox_prefix, redelivery_delay
from custody.telemetry import escalation_fields

if TYPE_CHECKING:
    from faststream.nats import NatsBroker
    from nats.js import JetStreamContext

log = structlog.get_logger(__name__)

# How long one fetch long-polls for its first message; it returns as soon as one arrives.
FETCH_WAIT_S: Final = 0.5
# After an unexpected fetch error (durable deleted, permissions): how long before trying again.
FETCH_ERROR_PAUSE_S: Final = 1.0

_tracer = trace.get_tracer("custody.bus")


class Delivery:
    """One JetStream message as a handler sees it. Settling twice is a no-op, so a handler
    that acked cannot be naked by a later error path."""

    __slots__ = ("outcome", "raw_message")

    def __init__(self, raw: Msg) -> None:
        self.raw_message = raw
        self.outcome = ""  # "acked", "naked", "rejected" once settled

    @property
    def body(self) -> bytes:
        return self.raw_message.data

    @property
    def headers(self) -> dict[str, str]:
        return self.raw_message.headers or {}

    @property
    def subject(self) -> str:
        return self.raw_message.subject or ""

    async def ack(self) -> None:
        if not self.outcome:
            self.outcome = "acked"
            await self.raw_message.ack()

    async def nack(self, delay: float | None = None) -> None:
        if not self.outcome:
            self.outcome = "naked"
            await self.raw_message.nak(delay=delay)

    async def reject(self) -> None:
        if not self.outcome:
            self.outcome = "rejected"
            await self.raw_message.term()

    async def in_progress(self) -> None:
        if not self.outcome:
            await self.raw_message.in_progress()


Work = Callable[[Delivery], Awaitable[None]]


class Consumer:
    """One pull loop on one provisioned durable."""

    def __init__(self, spec: subjects.ConsumerSpec, work: Work, concurrency: int = 1) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.spec = spec
        self._work = work
        self._concurrency = concurrency
        self._free = concurrency
        self._freed = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._sub: JetStreamContext.PullSubscription | None = None
        self._stopping = False
        self._done = observability.MESSAGES.labels  # bound once; label sets are bounded
        self._seconds = observability.MESSAGE_SECONDS.labels(durable=spec.durable)

    async def start(self, js: JetStreamContext) -> None:
        spec = self.spec
        self._sub = await js.pull_subscribe_bind(
            durable=spec.durable, stream=spec.stream, inbox_prefix=inbox_prefix(spec)
        )
        self._stopping = False
        self._loop_task = asyncio.create_task(self._loop(self._sub), name=f"pull {spec.durable}")

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop fetching, let running handlers finish (up to `grace_s`, then cancel them),
        and unsubscribe. Unsettled messages are redelivered to whoever runs next."""
        self._stopping = True
        if self._loop_task is not None:
            await cancel_all({self._loop_task})
            self._loop_task = None
        if self._running:
            _, pending = await asyncio.wait(set(self._running), timeout=grace_s)
            await cancel_all(pending)
        if self._sub is not None:
            with contextlib.suppress(Exception):  # already closed with the connection
                await self._sub.unsubscribe()
            self._sub = None

    async def _loop(self, sub: JetStreamContext.PullSubscription) -> None:
        while not self._stopping:
            if self._free <= 0:
                self._freed.clear()
                await self._freed.wait()
                continue
            msgs = await fetch(sub, self._free, FETCH_WAIT_S, self.spec.durable)
            for msg in msgs:
                self._free -= 1
                task = asyncio.create_task(self._handle(msg))
                self._running.add(task)
                task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._free += 1
        self._freed.set()

    async def _handle(self, msg: Msg) -> None:
        """One span in the producer's trace, the escalation bound to every log line, the
        handler, and a nak if anything escaped it (a dead-letter publish that failed)."""
        delivery = Delivery(msg)
        subject = msg.subject or ""
        fields = escalation_fields(msg.data, subject)
        attributes: dict[str, str | int] = {
            "messaging.system": "nats",
            "messaging.destination.name": subject,
            "messaging.consumer.group.name": self.spec.durable,
        }
        attributes.update({f"custody.{key}": value for key, value in fields.items()})
        started = time.perf_counter()
        with (
            _tracer.start_as_current_span(
                f"{subject} process",
                context=extract(msg.headers or {}),
                kind=trace.SpanKind.CONSUMER,
                attributes=attributes,
            ),
            structlog.contextvars.bound_contextvars(
                **({"escalation_id": fields["escalation_id"]} if "escalation_id" in fields else {})
            ),
        ):
            try:
                await self._work(delivery)
            except Exception as exc:
                log.error("bus.handler_escaped", consumer=self.spec.durable, error=repr(exc))
                with contextlib.suppress(Exception):
                    await delivery.nack(delay=redelivery_delay(delivered_count(msg)))
        self._seconds.observe(time.perf_counter() - started)
        self._done(durable=self.spec.durable, outcome=delivery.outcome or "unsettled").inc()


class Consumers:
    """Every pull loop of one service: added at wiring time, started once the broker is
    connected, stopped before it closes (its drain would otherwise wait on them)."""

    def __init__(self) -> None:
        self._consumers: list[Consumer] = []
        self._started = False

    def add(self, consumer: Consumer) -> None:
        if self._started:
            raise RuntimeError("add consumers before they are started")
        self._consumers.append(consumer)

    async def start(self, broker: NatsBroker) -> None:
        if self._started:
            return
        js = broker.connection.jetstream()
        for consumer in self._consumers:
            await consumer.start(js)
        self._started = True

    async def stop(self) -> None:
        if not self._started:
            return
        await asyncio.gather(*(c.stop() for c in self._consumers))
        self._started = False


_registry: weakref.WeakKeyDictionary[NatsBroker, Consumers] = weakref.WeakKeyDictionary()


def consumers_of(broker: NatsBroker) -> Consumers:
    """The pull loops registered on `broker` (`consuming.subscribe`); lifecycle.serve starts
    and stops them with it."""
    found = _registry.get(broker)
    if found is None:
        found = _registry[broker] = Consumers()
    return found


def subscribe(
    broker: NatsBroker,
    spec: subjects.ConsumerSpec,
    work: Work,
    concurrency: int = 1,
) -> Consumer:
    """Register `work` on the durable `spec`, each message settled by `consuming.handle`
    (ack, nak or dead-letter). Started and stopped with the service (lifecycle.serve), or
    by `consumers_of(broker)` in a harness. A handler that settles its own messages (the
    notifier's) is added as a `Consumer` directly."""

    async def consume(delivery: Delivery) -> None:
        await handle(broker, delivery, spec, lambda: work(delivery))

    consumer = Consumer(spec, consume, concurrency)
    consumers_of(broker).add(consumer)
    return consumer


async def fetch(
    sub: JetStreamContext.PullSubscription, batch: int, wait_s: float, durable: str
) -> list[Msg]:
    """Up to `batch` messages, returned as soon as one has arrived; none when `wait_s` passed
    without any, or when the fetch failed. A failure (the connection reconnecting, the durable
    deleted, a permission) pauses first, so a pull loop never spins on it."""
    try:
        return await sub.fetch(batch, timeout=wait_s)
    except (TimeoutError, nats.errors.TimeoutError):
        return []
    except (nats.errors.ConnectionClosedError, nats.errors.ConnectionReconnectingError):
        await asyncio.sleep(FETCH_ERROR_PAUSE_S)
        return []
    except Exception as exc:
        log.warning("bus.fetch_failed", consumer=durable, error=repr(exc))
        await asyncio.sleep(FETCH_ERROR_PAUSE_S)
        return []


async def cancel_all(tasks: set[asyncio.Task[None]]) -> None:
    """Cancel until every task is done. Python 3.11's asyncio.wait_for (inside nats-py's
    fetch) can swallow a cancellation that races a message's arrival: cancel again."""
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=FETCH_WAIT_S)
