"""The ledger's NATS edge: one pull subscriber per ledger durable (subjects.LEDGER_CONSUMERS).

Each fetch of up to `batch_size` messages is handled concurrently and written in ONE
transaction (adapters/batched_writer.py). A message is acked only after that COMMIT. When the
write fails, a consumer with a finite max_deliver naks it with a growing delay; the ledger's
own durables never give up (max_deliver -1), so there the message is held and retried every
second, with `in_progress` keeping it ours, until Postgres is back: an outage only pauses the
ledger, and it catches up within a second of Postgres returning. Safe under redelivery: the
writer skips facts whose msg_id it already has.
"""

# No `from __future__ import annotations`: FastStream resolves the handler's Annotated
# parameter at registration time.

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import structlog
from faststream.nats import NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage

from custody import subjects
from custody.bus.consuming import redelivery_delay, subscriber_kwargs
from custody_ledger.adapters.batched_writer import BatchedWriter, Writer
from custody_ledger.adapters.bus_facts import fact_from_message
from custody_ledger.adapters.metrics import LedgerMetrics
from custody_ledger.domain.facts import Fact

log = structlog.get_logger(__name__)

# How long one fetch waits to fill its batch: the ledger's recording latency when idle.
BATCH_WAIT_S: Final = 0.1
# How often a held message retries its write (one transaction for all of them, via the batcher).
HOLD_RETRY_S: Final = 1.0


async def _hold_until_recorded(
    batcher: BatchedWriter, spec: subjects.ConsumerSpec, message: NatsMessage, fact: Fact
) -> None:
    """Past max_deliver (or with none) the server would not send the message again soon, and
    the ledger must record every fact: keep it here instead (in_progress resets ack_wait)
    until Postgres is back. This blocks this consumer's fetch loop, which is the pause we
    want."""
    log.warning("ledger.holding_last_delivery", consumer=spec.durable, msg_id=fact.msg_id)
    while True:
        await message.in_progress()
        await asyncio.sleep(min(HOLD_RETRY_S, spec.ack_wait_s / 3))
        try:
            await batcher.record(fact)
        except Exception:
            continue
        return


def _handler(
    batcher: BatchedWriter, spec: subjects.ConsumerSpec, metrics: LedgerMetrics | None
) -> Callable[[NatsMessage], Awaitable[None]]:
    async def record(message: NatsMessage) -> None:
        raw = message.raw_message
        fact = fact_from_message(raw, spec.stream)
        try:
            await batcher.record(fact)
        except Exception:
            delivered = int(raw.metadata.num_delivered or 1)
            if delivered < spec.max_deliver:  # never true for the ledger's own (max_deliver -1)
                await message.nack(delay=redelivery_delay(delivered))
                return
            await _hold_until_recorded(batcher, spec, message, fact)
        await message.ack()
        if metrics is not None and raw.metadata.timestamp is not None:
            metrics.recorded(spec.durable, raw.metadata.timestamp)

    record.__name__ = record.__qualname__ = f"record_{spec.durable.replace('-', '_')}"
    return record


def register(
    broker: NatsBroker,
    writer: Writer,
    specs: Sequence[subjects.ConsumerSpec] = subjects.LEDGER_CONSUMERS,
    batch_size: int = 256,
    metrics: LedgerMetrics | None = None,
) -> BatchedWriter:
    """Bind one subscriber per durable to `broker` (before `broker.start()`). All of them
    share one BatchedWriter, so concurrent fetches also share transactions."""
    batcher = BatchedWriter(writer, observer=metrics)
    for spec in specs:
        kwargs: dict[str, Any] = dict(subscriber_kwargs(spec, batch_size=batch_size))
        kwargs["pull_sub"] = PullSub(batch_size=batch_size, timeout=BATCH_WAIT_S)
        broker.subscriber(**kwargs)(_handler(batcher, spec, metrics))
    return batcher
