"""The native incident event an agent raises, and the proof packet it carries."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Severity(StrEnum):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"


class Threshold(StrEnum):
    """Why an agent escalates rather than acts (DESIGN.md: the proof packet)."""

    CUSTOMER_IMPACT = "customer_impact"
    OUTSIDE_RUNBOOK = "outside_runbook"
    CROSS_TEAM_DEPENDENCY = "cross_team_dependency"
    SLO_AT_RISK = "slo_at_risk"


class Evidence(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = Field(max_length=200)
    url: str | None = Field(default=None, max_length=2048)
    excerpt: str | None = Field(default=None, max_length=2000)


class ProofPacket(BaseModel):
    """The case a page carries so a responder can decide in one glance."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    signal: str = Field(default="", max_length=2000)
    evidence: tuple[Evidence, ...] = Field(default=(), max_length=20)
    diagnosis: str = Field(default="", max_length=2000)
    thresholds: tuple[Threshold, ...] = ()
    proposed_action: str = Field(default="", max_length=1000)
    reversible: bool | None = None
    agent_action: str = Field(default="", max_length=500)
    runbook_url: str | None = Field(default=None, max_length=2048)


class IncidentEvent(BaseModel):
    """What an agent sends to intake (over HTTP or NATS)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(min_length=1, max_length=128)
    dedup_key: str = Field(min_length=1, max_length=255)
    title: str = Field(min_length=1, max_length=200)
    severity: Severity
    customer_impact: bool = False
    service: str | None = Field(default=None, max_length=128)
    labels: dict[str, str] = Field(default_factory=dict, max_length=32)
    occurred_at: AwareDatetime | None = None
    proof: ProofPacket = ProofPacket()
