"""The routing decision's parts: the chain levels it resolved and why."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


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
