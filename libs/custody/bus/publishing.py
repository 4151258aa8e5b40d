"""Publishing with a PubAck, a deterministic Nats-Msg-Id, and retries that reuse that id."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import structlog
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import PubAck

from custody import subjects
from custody.contracts import Message

if TYPE_CHECKING:
    from faststream.nats import NatsBroker

log = structlog.get_logger(__name__)

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
    stream = subjects.stream_for(subject)
    all_headers = headers_for(message, headers)
    payload = message.to_json()
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            ack = await broker.publish(
                payload, subject, headers=all_headers, stream=stream, timeout=ack_timeout_s
            )
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
        if ack is None:  # only a publish without stream= returns None
            raise BusUnavailable(f"no PubAck for {subject}")
        return ack
    raise BusUnavailable(f"publish to {subject} failed after {attempts} attempts: {last!r}")
