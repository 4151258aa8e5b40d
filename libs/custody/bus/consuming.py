"""The consuming discipline every handler follows: ack after effects, nak with delay on a
transient error, dead-letter then terminate on a permanent one or at max_deliver. The pull
loops that feed handlers are in worker.py."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import structlog

from custody import clock, subjects
from custody.bus.publishing import TYPE_HEADER, publish
from custody.contracts import SCHEMA_VERSION, DeadLettered, Message, fact_from_json

if TYPE_CHECKING:
    from faststream.nats import NatsBroker
    from nats.aio.msg import Msg

    from custody.bus.worker import Delivery

log = structlog.get_logger(__name__)


class PermanentError(Exception):
    """Redelivery cannot help (bad payload, impossible state): dead-letter it."""


class NewerSchemaError(Exception):
    """A message from a newer producer. Transient: a rolling upgrade may be on its way, so it
    is redelivered with backoff, and dead-lettered only at max_deliver."""


def inbox_prefix(spec: subjects.ConsumerSpec) -> bytes:
    """The inbox a durable is pulled into: a service's NATS user may subscribe only to its
    own inbox (permissions.py)."""
    for service, specs in subjects.SERVICE_CONSUMERS.items():
        if spec in specs:
            return f"_INBOX_{service}.".encode()
    return b"_INBOX."


def decode(msg: Delivery) -> Message:
    type_name = (msg.headers or {}).get(TYPE_HEADER, "")
    try:
        message = fact_from_json(type_name, msg.body)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise PermanentError(f"undecodable {type_name or 'message'}: {exc}") from exc
    if message.schema_version > SCHEMA_VERSION:
        raise NewerSchemaError(
            f"{type_name} schema_version {message.schema_version} > {SCHEMA_VERSION} understood"
        )
    return message


def redelivery_delay(delivered: int) -> float:
    """0.2 s doubling to 5 s: a poison message reaches the DLQ within ~30 s at max_deliver 10."""
    return float(min(0.2 * 2 ** (delivered - 1), 5.0))


async def handle(
    broker: NatsBroker,
    msg: Delivery,
    spec: subjects.ConsumerSpec,
    work: Callable[[], Awaitable[None]],
) -> None:
    """Run `work` for one message and settle the message accordingly."""
    delivered = delivered_count(msg.raw_message)
    try:
        await work()
    except PermanentError as exc:
        await dead_letter(broker, msg, spec, f"permanent: {exc}")
        await msg.reject()
    except Exception as exc:
        if 0 < spec.max_deliver <= delivered:
            await dead_letter(broker, msg, spec, f"max_deliver reached: {exc!r}")
            await msg.reject()
            return
        log.warning(
            "handler.transient_error",
            consumer=spec.durable,
            delivered=delivered,
            error=repr(exc),
        )
        await msg.nack(delay=redelivery_delay(delivered))
    else:
        await msg.ack()


async def dead_letter(
    broker: NatsBroker, msg: Delivery, spec: subjects.ConsumerSpec, reason: str
) -> None:
    raw = msg.raw_message
    seq = raw.metadata.sequence.stream if raw.metadata and raw.metadata.sequence else 0
    body = bytes(msg.body)
    escalation_id = _escalation_of(body, raw.subject or "")
    fact = DeadLettered(
        event_id=f"dlq:{spec.stream}:{seq}:{spec.durable}",
        escalation_id=escalation_id,
        occurred_at=clock.now(),
        stream=spec.stream,
        consumer=spec.durable,
        stream_seq=seq,
        subject=raw.subject or "",
        reason=reason[:2000],
        payload_head=body[:4096].decode("utf-8", "replace")
        + f" [sha256={hashlib.sha256(body).hexdigest()}]",
    )
    log.error("handler.dead_lettered", consumer=spec.durable, stream_seq=seq, reason=reason)
    await publish(broker, subjects.dead_letter(spec.stream, spec.durable), fact)


def _escalation_of(body: bytes, subject: str) -> str:
    """From the envelope if it parses; else the `esc-` token of the subject, if any."""
    try:
        value = json.loads(body).get("escalation_id")
        if isinstance(value, str):
            return value
    except (ValueError, AttributeError):
        pass
    return next((t for t in subject.split(".") if t.startswith("esc-")), "")


def delivered_count(raw: Msg) -> int:
    """How many times JetStream has delivered this message (1 on the first delivery)."""
    metadata = raw.metadata
    return int(metadata.num_delivered) if metadata and metadata.num_delivered else 1
