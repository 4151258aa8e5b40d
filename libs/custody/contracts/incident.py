"""The native incident event an agent raises, and the proof packet it carries.

Limits here are the contract (they appear in the published JSON Schema); intake adds the rules a
schema cannot say (body size, nesting depth, control characters) and rejects, never truncates.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

# What text intake accepts, as JSON Schema patterns: names and titles are one line; prose may
# also hold tabs and line breaks. No text holds any other control character (C0, DEL, C1).
ONE_LINE_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]*$"
PROSE_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
ONE_LINE: dict[str, Any] = {"pattern": ONE_LINE_PATTERN}
PROSE: dict[str, Any] = {"pattern": PROSE_PATTERN}

MAX_LABELS = 32
LabelKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
LabelValue = Annotated[str, StringConstraints(max_length=256)]


def one_line_names(schema: dict[str, Any]) -> None:
    """A string map whose names (and values) are one line: JSON Schema `propertyNames`."""
    names = schema.setdefault("propertyNames", {})
    names["pattern"] = ONE_LINE_PATTERN
    values = schema.setdefault("additionalProperties", {"type": "string"})
    values["pattern"] = ONE_LINE_PATTERN


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
    """One piece of what was observed: a link, a short excerpt, or both."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = Field(max_length=200, json_schema_extra=PROSE)
    url: str | None = Field(default=None, max_length=2048, json_schema_extra=PROSE)
    excerpt: str | None = Field(default=None, max_length=2000, json_schema_extra=PROSE)


class ProofPacket(BaseModel):
    """The case a page carries so a responder can decide in one glance."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    signal: str = Field(
        default="", max_length=2000, description="what was observed", json_schema_extra=PROSE
    )
    evidence: tuple[Evidence, ...] = Field(
        default=(), max_length=20, description="links and short excerpts backing the signal"
    )
    diagnosis: str = Field(
        default="", max_length=2000, description="the agent's reasoning", json_schema_extra=PROSE
    )
    thresholds: tuple[Threshold, ...] = Field(
        default=(), max_length=4, description="which escalation thresholds fired"
    )
    proposed_action: str = Field(default="", max_length=1000, json_schema_extra=PROSE)
    reversible: bool | None = Field(default=None, description="is the proposed action reversible")
    agent_action: str = Field(
        default="",
        max_length=500,
        description='what the agent did, e.g. "stopped: needs a human"',
        json_schema_extra=PROSE,
    )
    runbook_url: str | None = Field(default=None, max_length=2048, json_schema_extra=PROSE)
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="structured details kept as JSON (e.g. PagerDuty custom_details)",
    )


class IncidentEvent(BaseModel):
    """What an agent sends to intake (over HTTP or NATS)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(
        min_length=1,
        max_length=128,
        description="the raising agent's id",
        json_schema_extra=ONE_LINE,
    )
    dedup_key: str = Field(
        min_length=1,
        max_length=255,
        description="the same (source, dedup_key) while open updates the escalation",
        json_schema_extra=ONE_LINE,
    )
    title: str = Field(min_length=1, max_length=200, json_schema_extra=ONE_LINE)
    severity: Severity
    customer_impact: bool = False
    service: str | None = Field(default=None, max_length=128, json_schema_extra=ONE_LINE)
    labels: dict[LabelKey, LabelValue] = Field(
        default_factory=dict, max_length=MAX_LABELS, json_schema_extra=one_line_names
    )
    occurred_at: AwareDatetime | None = None
    proof: ProofPacket = ProofPacket()
