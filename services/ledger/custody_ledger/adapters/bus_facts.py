"""A JetStream message as a ledger fact: decoded when possible, kept raw when not."""

from __future__ import annotations

from nats.aio.msg import Msg

from custody import clock
from custody.bus.publishing import MSG_ID_HEADER, TYPE_HEADER
from custody.contracts import fact_from_json
from custody_ledger.domain.facts import Fact, fact_from_wire, undecodable_fact


def fact_from_message(msg: Msg, stream: str) -> Fact:
    """Never raises: the ledger records every fact, even one it cannot read."""
    headers = msg.headers or {}
    metadata = msg.metadata
    stream = metadata.stream or stream
    msg_id = headers.get(MSG_ID_HEADER) or None
    traceparent = headers.get("traceparent")
    type_name = headers.get(TYPE_HEADER, "")
    try:
        # The same parse as custody.bus.consuming.decode, on the raw nats-py message.
        message = fact_from_json(type_name, msg.data)
        return fact_from_wire(
            message.wire(),
            msg_id=msg_id,
            stream=stream,
            subject=msg.subject,
            header_traceparent=traceparent,
        )
    except (ValueError, KeyError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
        return undecodable_fact(
            bytes(msg.data),
            error=f"undecodable {type_name or 'message'}: {exc}",
            msg_id=msg_id,
            stream=stream,
            stream_seq=metadata.sequence.stream if metadata.sequence else 0,
            subject=msg.subject,
            received_at=metadata.timestamp or clock.now(),
            type_header=type_name,
            header_traceparent=traceparent,
        )
