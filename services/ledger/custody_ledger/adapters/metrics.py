"""The ledger's Prometheus metrics, in the shared registry (custody.observability), served at
GET /metrics: ledger lag, each durable's backlog, throughput, checkpoints.

`custody_ledger_lag_seconds` and `custody_consumer_pending`/`_ack_pending{durable}` are
named in custody.observability (dashboards agree on them); the rest are the ledger's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, generate_latest

from custody import clock, observability, subjects
from custody_ledger.domain.lag import Lag

if TYPE_CHECKING:
    from faststream.nats import NatsBroker

log = structlog.get_logger(__name__)

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
_R = observability.REGISTRY
RECORDED: Final = Counter(
    "custody_ledger_facts_recorded", "Facts appended to the chain", registry=_R
)
DUPLICATES: Final = Counter(
    "custody_ledger_facts_duplicate", "Redelivered facts found already recorded", registry=_R
)
FAILED_BATCHES: Final = Counter(
    "custody_ledger_batches_failed", "Write transactions that failed (Postgres away)", registry=_R
)
CHECKPOINT_SEQ: Final = Gauge(
    "custody_ledger_checkpoint_seq", "Seq of the newest signed checkpoint", registry=_R
)
CHECKPOINT_UNPUBLISHED: Final = Counter(
    "custody_ledger_checkpoint_publish_failures",
    "Attempts to publish a checkpoint to NATS that failed (the file has it; retried)",
    registry=_R,
)


class LedgerMetrics:
    """What the handlers, the batcher and the checkpointer report; the lag is computed at
    scrape time (domain/lag.py)."""

    def __init__(self, now: Callable[[], datetime] = clock.now) -> None:
        self._now = now
        self.lag = Lag(started=now())
        # The last ledger built in a process owns the gauge (one per process in production).
        observability.LEDGER_LAG.set_function(lambda: self.lag.seconds(self._now()))

    def batch(self, new: int, total: int) -> None:
        RECORDED.inc(new)
        DUPLICATES.inc(total - new)

    def batch_failed(self) -> None:
        FAILED_BATCHES.inc()

    def recorded(self, consumer: str, published_at: datetime) -> None:
        self.lag.recorded(consumer, published_at)

    def consumer(self, consumer: str, num_pending: int, num_ack_pending: int) -> None:
        observability.CONSUMER_PENDING.labels(durable=consumer).set(num_pending)
        observability.CONSUMER_ACK_PENDING.labels(durable=consumer).set(num_ack_pending)
        self.lag.observed(consumer, num_pending + num_ack_pending, self._now())

    def checkpointed(self, seq: int) -> None:
        CHECKPOINT_SEQ.set(seq)

    def checkpoint_unpublished(self) -> None:
        CHECKPOINT_UNPUBLISHED.inc()

    def render(self) -> bytes:
        return generate_latest(_R)


async def poll_consumers(
    broker: NatsBroker,
    specs: Sequence[subjects.ConsumerSpec],
    metrics: LedgerMetrics,
    interval_s: float = 2.0,
) -> None:
    """Forever: each durable's backlog from consumer INFO (a permission the ledger has)."""
    while True:
        try:
            js = broker.connection.jetstream()
            for spec in specs:
                info = await js.consumer_info(spec.stream, spec.durable, timeout=2.0)
                metrics.consumer(spec.durable, info.num_pending or 0, info.num_ack_pending or 0)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # disconnected, timeout: keep the last values, try again
            log.debug("ledger.metrics_poll_failed", error=repr(exc))
        await asyncio.sleep(interval_s)
