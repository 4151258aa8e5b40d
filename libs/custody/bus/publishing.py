"""Publishing with a PubAck, a deterministic Nats-Msg-Id, and retries that reuse that id.

Straight through nats-py's JetStream context rather than FastStream's publisher: its
middlewares made two spans and a Prometheus label set per publish, about a tenth of the
escalator's CPU (docs/performance.md). One producer span per publish remains, and its
context travels in the `traceparent` header, so the consumer's span joins the same trace."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import structlog
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import PubAck
from opentelemetry import trace
from opentelemetry.propagate import extract, inject

from custody import subjects
from custody.contracts import Message

if TYPE_CHECKING:
    from faststream.nats import NatsBroker

log = structlog.get_logger(__name__)
_tracer = trace.get_tracer("custody.bus")

TYPE_HEADER = "Custody-Type"
MSG_ID_HEADER = "Nats-Msg-Id"


class BusUnavailable(Exception):
    """The bus did not acknowledge a publish after every retry: the caller must not claim
    the message is durable (intake answers 503; a handler naks and is redelivered)."""


def headers_for(message: Message, extra: dict[str, str] | None = None) -> dict[str, str]:
    headers = {MSG_ID_HEADER: message.event_id, TYPE_HEADER: type(message).__name__}
    if message.traceparent:
        headers["traceparent"] = message.traceparent
    if extra:
        headers.update(extra)
    return headers


async def publish(
    broker: NatsBroker,
    subject: str,
    message: Message,
    *,
    headers: dict[str, str] | None = None,
    ack_timeout_s: float = 5.0,
    attempts: int = 3,
) -> PubAck:
    """Publish and await the PubAck. A retry after a timeout reuses the same Nats-Msg-Id,
    because the first request may still be delivered after a reconnect."""
    all_headers = headers_for(message, headers)
    payload = message.to_json()
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            ack = await publish_raw(broker, subject, payload, dict(all_headers), ack_timeout_s)
        except (NatsTimeoutError, NoRespondersError, TimeoutError, ConnectionError) as exc:
            last = exc
            log.warning("bus.publish_retry", subject=subject, attempt=attempt, error=repr(exc))
            await asyncio.sleep(min(0.2 * attempt, 1.0))
            continue
        except Exception as exc:  # nats-py raises plain Error subclasses when disconnected
            last = exc
            log.warning("bus.publish_retry", subject=subject, attempt=attempt, error=repr(exc))
            await asyncio.sleep(min(0.2 * attempt, 1.0))
            continue
        return ack
    raise BusUnavailable(f"publish to {subject} failed after {attempts} attempts: {last!r}")


async def publish_raw(
    broker: NatsBroker,
    subject: str,
    payload: bytes,
    headers: dict[str, str],
    timeout_s: float = 5.0,
) -> PubAck:
    """One JetStream publish to the stream that owns `subject`, awaiting its PubAck.

    The producer span's parent is the span in progress (the consumer span of the message
    being handled, or intake's request); with none, the `traceparent` the message already
    carries (its escalation's trace). `headers` is updated with the span's context."""
    parent = None if trace.get_current_span().get_span_context().is_valid else extract(headers)
    with _tracer.start_as_current_span(
        f"{subject} publish",
        context=parent,
        kind=trace.SpanKind.PRODUCER,
        attributes={"messaging.system": "nats", "messaging.destination.name": subject},
    ):
        inject(headers)
        return await broker.connection.jetstream().publish(
            subject,
            payload,
            timeout=timeout_s,
            stream=subjects.stream_for(subject),
            headers=headers,
        )
