"""The ledger's NATS edge: one pull loop per ledger durable (subjects.LEDGER_CONSUMERS).

Each fetch of up to `batch_size` messages is decoded and written in ONE transaction (shared
with whatever the other durables fetched meanwhile, adapters/batched_writer.py), and every
message of the fetch is acked only after that COMMIT. When the write fails, a consumer with a
finite max_deliver naks the fetch with a growing delay; the ledger's own durables never give
up (max_deliver -1), so there the fetch is held and retried every second, with `in_progress`
keeping it ours, until Postgres is back: an outage only pauses the ledger, and it catches up
within a second of Postgres returning. Safe under redelivery: the writer skips facts whose
msg_id it already has.

Why nats-py pull loops and not FastStream subscribers: the ledger takes about seven messages
per escalation, and FastStream's per-message path (dependency injection, three middlewares, a
span, a Prometheus label set) cost more CPU than recording the fact did
(docs/performance.md). Here a fetch is one decode, one transaction and a span per fact.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import structlog
from nats.aio.msg import Msg
from opentelemetry import trace
from opentelemetry.propagate import extract

from custody import subjects
from custody.bus.consuming import delivered_count, inbox_prefix, redelivery_delay
from custody.bus.worker import cancel_all, fetch
from custody_ledger.adapters.batched_writer import BatchedWriter, Writer
from custody_ledger.adapters.bus_facts import fact_from_message
from custody_ledger.adapters.metrics import LedgerMetrics
from custody_ledger.domain.facts import Fact

if TYPE_CHECKING:
    from faststream.nats import NatsBroker
    from nats.js import JetStreamContext

log = structlog.get_logger(__name__)

# How long one fetch waits for its first message; a fetch returns as soon as one arrives.
BATCH_WAIT_S: Final = 0.1
# How often a held fetch retries its write (one transaction for all of it, via the batcher).
HOLD_RETRY_S: Final = 1.0


class Recorder:
    """All the ledger's pull loops. `start` once the broker is connected; `stop` before it
    closes. The loops share one BatchedWriter, so concurrent fetches share transactions."""

    def __init__(
        self,
        broker: NatsBroker,
        batcher: BatchedWriter,
        specs: Sequence[subjects.ConsumerSpec],
        batch_size: int,
        metrics: LedgerMetrics | None,
    ) -> None:
        self._broker = broker
        self.batcher = batcher
        self._specs = tuple(specs)
        self._batch_size = batch_size
        self._metrics = metrics
        self._tasks: list[asyncio.Task[None]] = []
        self._subs: list[JetStreamContext.PullSubscription] = []
        self._stopping = False
        self._tracer = trace.get_tracer("custody.ledger")

    async def start(self) -> None:
        js = self._broker.connection.jetstream()
        for spec in self._specs:
            sub = await js.pull_subscribe_bind(
                durable=spec.durable, stream=spec.stream, inbox_prefix=inbox_prefix(spec)
            )
            self._subs.append(sub)
            self._tasks.append(asyncio.create_task(self._loop(spec, sub)))

    async def stop(self) -> None:
        """Before the broker stops: its drain would otherwise wait out its whole timeout on
        these subscriptions. Fetched but unrecorded messages are redelivered later."""
        # The flag as well as the cancel: Python 3.11's asyncio.wait_for (inside nats-py's
        # fetch) can swallow a cancellation that races a message's arrival, and a loop that
        # missed its cancel would otherwise run on (seen as a 60 s hang under a backlog).
        self._stopping = True
        await cancel_all(set(self._tasks))
        self._tasks.clear()
        for sub in self._subs:
            with contextlib.suppress(Exception):  # already closed with the connection
                await sub.unsubscribe()
        self._subs.clear()

    async def _loop(
        self, spec: subjects.ConsumerSpec, sub: JetStreamContext.PullSubscription
    ) -> None:
        while not self._stopping:
            msgs = await fetch(sub, self._batch_size, BATCH_WAIT_S, spec.durable)
            if msgs:
                await self.record(spec, msgs)

    async def record(self, spec: subjects.ConsumerSpec, msgs: Sequence[Msg]) -> None:
        """Record one fetch, then settle every message of it."""
        facts = [fact_from_message(msg, spec.stream) for msg in msgs]
        with contextlib.ExitStack() as spans:
            for msg, fact in zip(msgs, facts, strict=True):
                spans.enter_context(self._span(msg, fact))
            try:
                await self.batcher.record_many(facts)
            except Exception:
                delivered = min(delivered_count(msg) for msg in msgs)
                if delivered < spec.max_deliver:  # never true for the ledger's (max_deliver -1)
                    delay = redelivery_delay(delivered)
                    await asyncio.gather(*(msg.nak(delay=delay) for msg in msgs))
                    return
                if not await self._hold_until_recorded(spec, msgs, facts):
                    return  # stopping: unacked, so redelivered to whoever runs next
        await asyncio.gather(*(msg.ack() for msg in msgs))
        if self._metrics is not None:
            for msg in msgs:
                if msg.metadata.timestamp is not None:
                    self._metrics.recorded(spec.durable, msg.metadata.timestamp)

    def _span(self, msg: Msg, fact: Fact) -> contextlib.AbstractContextManager[trace.Span]:
        """One span per fact, in the escalation's trace (the traceparent the producer sent)."""
        return self._tracer.start_as_current_span(
            f"{msg.subject} record",
            context=extract(msg.headers or {}),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": msg.subject,
                "custody.escalation_id": fact.escalation_id or "",
                "custody.kind": fact.kind,
            },
        )

    async def _hold_until_recorded(
        self, spec: subjects.ConsumerSpec, msgs: Sequence[Msg], facts: list[Fact]
    ) -> bool:
        """Past max_deliver (or with none) the server would not send the messages again soon,
        and the ledger must record every fact: keep them here instead (in_progress resets
        ack_wait) until Postgres is back. This blocks this durable's loop, which is the pause
        we want. False if the ledger is stopping first."""
        log.warning("ledger.holding_last_delivery", consumer=spec.durable, facts=len(facts))
        while not self._stopping:
            await asyncio.gather(*(msg.in_progress() for msg in msgs))
            await asyncio.sleep(min(HOLD_RETRY_S, spec.ack_wait_s / 3))
            try:
                await self.batcher.record_many(facts)
            except Exception:
                continue
            return True
        return False


def register(
    broker: NatsBroker,
    writer: Writer,
    specs: Sequence[subjects.ConsumerSpec] = subjects.LEDGER_CONSUMERS,
    batch_size: int = 256,
    metrics: LedgerMetrics | None = None,
) -> Recorder:
    """The pull loops for `specs`; call `start()` after `broker.start()`."""
    return Recorder(broker, BatchedWriter(writer, observer=metrics), specs, batch_size, metrics)
