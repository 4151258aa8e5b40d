"""The routing decision's parts: the chain levels it resolved and why."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Level(BaseModel):
    """One chain level, resolved to people at routing time (the escalation's snapshot)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: int
    recipients: tuple[str, ...]
    wait_s: float
    channels: tuple[str, ...] = ("sms",)
    why: str = ""


class RoutingExplanation(BaseModel):
    """Everything the router used, so a page can say why it went where it went."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    policy_version: str
    rule: str
    team: str
    severity_class: str
    inputs: dict[str, Any]
    schedule: dict[str, str]
    skipped: tuple[str, ...] = ()
    summary: str = ""
    # Added for policy issue #4 (all optional, so older facts still parse):
    # offer | defer | digest, and why.
    disposition: str = "offer"
    reason: str = ""
    # How the class was decided: {"class", "basis", "customer_visible"}.
    classification: dict[str, Any] = Field(default_factory=dict)
    # The custodian's quiet-hours state in their own zone: {"person", "zone", "local_time",
    # "window", "quiet", "ends_at", "presence_override", "summary"}.
    quiet_hours: dict[str, Any] = Field(default_factory=dict)
    # Set when deferred: {"until", "until_local", "reason"}.
    deferral: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()
