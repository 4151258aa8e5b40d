"""A fact as the ledger records it, derived from a message's wire JSON (or from a body that
would not decode: the ledger records every fact, even one it cannot read)."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from custody import subjects
from custody_ledger.domain.services import service_for

UNDECODABLE: Final = "undecodable"
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
# Streams whose subjects end in the escalation id (subjects.py builds them that way).
_ID_LAST_TOKEN: Final = frozenset(
    {subjects.INCIDENTS, subjects.ROUTED, subjects.CUSTODY, subjects.PAGES, subjects.COMMANDS}
)


@dataclass(frozen=True)
class Fact:
    msg_id: str
    escalation_id: str
    kind: str
    stream: str
    subject: str
    occurred_at: datetime
    actor: str
    trace_id: str | None
    payload: dict[str, Any]


def clean_text(text: str) -> str:
    """Postgres text and jsonb refuse NUL and lone surrogates; one bad string must not
    block the ledger forever, so both become U+FFFD."""
    return text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def jsonb_safe(value: Any) -> Any:
    """`value` with every string cleaned and non-finite floats (which jsonb rejects) as text."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): jsonb_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonb_safe(v) for v in value]
    return value


def trace_id_of(traceparent: str | None) -> str | None:
    """The 32-hex trace id of a W3C traceparent, or None when absent or malformed."""
    if not traceparent:
        return None
    match = _TRACEPARENT.match(traceparent.strip().lower())
    if match is None or match.group(1) == "0" * 32:
        return None
    return match.group(1)


def actor_of(kind: str, payload: dict[str, Any]) -> str:
    """Who caused the fact: the named actor, the raiser, else the publishing service."""
    actor = payload.get("actor")
    if isinstance(actor, str) and actor:
        return actor
    if kind == "raised" and isinstance(payload.get("raised_by"), str):
        return str(payload["raised_by"])
    if kind in ("rejected", "seen_again") and isinstance(payload.get("source"), str):
        return str(payload["source"])
    return service_for(kind)


def escalation_id_from_subject(stream: str, subject: str) -> str:
    if stream in _ID_LAST_TOKEN and "." in subject:
        return subject.rsplit(".", 1)[-1]
    return ""


def fact_from_wire(
    wire: dict[str, Any],
    *,
    msg_id: str | None,
    stream: str,
    subject: str,
    header_traceparent: str | None = None,
) -> Fact:
    """A decoded message (its `Message.wire()`), keyed by its Nats-Msg-Id or event id."""
    payload: dict[str, Any] = jsonb_safe(wire)
    kind = str(payload.get("kind") or "message")
    occurred_at = datetime.fromisoformat(str(payload["occurred_at"]))
    traceparent = payload.get("traceparent") or header_traceparent
    return Fact(
        msg_id=clean_text(msg_id or str(payload["event_id"])),
        escalation_id=str(payload.get("escalation_id") or ""),
        kind=kind,
        stream=stream,
        subject=clean_text(subject),
        occurred_at=occurred_at,
        actor=actor_of(kind, payload),
        trace_id=trace_id_of(traceparent if isinstance(traceparent, str) else None),
        payload=payload,
    )


def undecodable_fact(
    body: bytes,
    *,
    error: str,
    msg_id: str | None,
    stream: str,
    stream_seq: int,
    subject: str,
    received_at: datetime,
    type_header: str = "",
    header_traceparent: str | None = None,
) -> Fact:
    """A body that did not decode, kept as text with its digest so nothing is lost."""
    digest = hashlib.sha256(body).hexdigest()
    payload = {
        "kind": UNDECODABLE,
        "type": clean_text(type_header),
        "error": clean_text(error[:2000]),
        "body": clean_text(body.decode("utf-8", "replace")),
        "body_sha256": digest,
    }
    return Fact(
        # Without a Nats-Msg-Id, the stream position is the message's only stable identity.
        msg_id=clean_text(msg_id or f"{stream}:{stream_seq}"),
        escalation_id=escalation_id_from_subject(stream, subject),
        kind=UNDECODABLE,
        stream=stream,
        subject=clean_text(subject),
        occurred_at=received_at,
        actor="ledger",
        trace_id=trace_id_of(header_traceparent),
        payload=payload,
    )
