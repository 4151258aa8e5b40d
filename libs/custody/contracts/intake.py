"""What intake answers: the reply an agent gets over NATS or HTTP, and the refusal body.

Shared by intake and the SDK, so both sides read the same shape. These are answers, not facts:
the facts behind them are `IncidentAccepted`, `IncidentSeenAgain` and `Rejected` on the bus.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ReplyStatus = Literal["accepted", "rejected", "unavailable"]


class Refusal(BaseModel):
    """Every 4xx (and 503) body: a stable code, the field at fault, and what to do about it."""

    model_config = ConfigDict(frozen=True)

    error_code: str = Field(description="stable, machine-readable, e.g. too_long")
    field: str = Field(description='dotted path of the offending field, or "(body)"')
    message: str


class EventAccepted(BaseModel):
    """`202` from `POST /v1/events`: durable in INCIDENTS before this was sent."""

    model_config = ConfigDict(frozen=True)

    escalation_id: str
    duplicate: bool = Field(description="true when it updated an open escalation")
    status: Literal["accepted"] = "accepted"
    seen_count: int = Field(default=0, description="how often it was seen again while open")


class IntakeReply(BaseModel):
    """The reply on NATS to a request on `intake.events.<source>`."""

    model_config = ConfigDict(frozen=True)

    status: ReplyStatus
    escalation_id: str | None = None
    duplicate: bool = False
    seen_count: int = 0
    status_code: int = 202
    error_code: str | None = None
    field: str | None = None
    message: str = ""
    retry_after_s: float | None = None
