"""The envelope every message carries: event id, escalation id, occurred-at, version, trace."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict

SCHEMA_VERSION = 1


class Message(BaseModel):
    """Base of every message on the bus.

    `event_id` is deterministic, derived from the input that caused the message, and is used
    as the `Nats-Msg-Id`, so a retry or a redelivered handler publishes the same id and
    JetStream deduplicates it. The ledger keys facts by it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ClassVar[str] = "message"
    schema_version: int = SCHEMA_VERSION
    event_id: str
    escalation_id: str
    occurred_at: AwareDatetime
    traceparent: str | None = None
    tracestate: str | None = None

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    def wire(self) -> dict[str, Any]:
        """The JSON object with its kind, as the ledger stores it."""
        data = self.model_dump(mode="json")
        data["kind"] = self.kind
        return data


_REGISTRY: dict[str, type[Message]] = {}


def register(cls: type[Message]) -> type[Message]:
    _REGISTRY[cls.__name__] = cls
    return cls


def fact_from_json(type_name: str, payload: bytes) -> Message:
    """Parse a message whose class name travels in the `Custody-Type` header."""
    try:
        cls = _REGISTRY[type_name]
    except KeyError as exc:
        raise ValueError(f"unknown message type {type_name!r}") from exc
    return cls.model_validate_json(payload)


def utc_iso(moment: datetime) -> str:
    return moment.isoformat()
