"""Pydantic models of the policy file (DESIGN.md § Policy). example.yaml shows every field.

Each section checks its own shape; references between sections (a rotation naming a person,
a route naming a team) are checked once the whole file has parsed, in references.py, so
each problem can name the exact field path, and hence the line, it comes from.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from custody.policy.fields import (
    CLASS_NAMES,
    EXCEPTION_CLASSES,
    ROLES,
    Channel,
    ClassName,
    Duration,
    PolicyModel,
    parse_duration,
)
from custody.policy.people import Agent, Contacts, Person, Presence, QuietHours
from custody.policy.references import REFERENCE_PROBLEMS, check_references, render
from custody.policy.schedules import Override, Rotation, Schedule


class ExceptionOwner(PolicyModel):
    owner: str = Field(description="the person who owns this exception class")
    sla: Duration = Field(description="how long they have to accept it")


class ExceptionOwners(PolicyModel):
    """Who owns each exception class. An incident names its class in `labels.exception`."""

    data_missing: ExceptionOwner | None = None
    cross_team_dependency: ExceptionOwner | None = None
    legal_hold: ExceptionOwner | None = None

    def owner_of(self, exception_class: str) -> ExceptionOwner | None:
        owner: ExceptionOwner | None = getattr(self, exception_class, None)
        return owner


class Team(PolicyModel):
    members: tuple[str, ...] = ()
    manager: str = Field(description="notified when the acceptance SLA is breached")
    last_resort: str = Field(description="owner of last resort: gets what nobody else can take")
    substitute: str | None = Field(
        default=None,
        description="takes custody when the acceptance SLA is breached (default: the "
        "secondary on call)",
    )
    schedule: Schedule
    exceptions: ExceptionOwners = ExceptionOwners()


class ChainLevel(PolicyModel):
    targets: tuple[str, ...] = Field(
        min_length=1,
        description="primary | secondary | manager (of the route's team), "
        "<role>@<team> (of another team), or person:<id>",
    )
    wait: Duration = Field(default=300.0, description="how long this level has to accept")


class Chain(PolicyModel):
    levels: tuple[ChainLevel, ...] = Field(min_length=1)
    repeat: int = Field(default=0, ge=0, le=10, description="climb the chain again N times")


class RouteMatch(PolicyModel):
    """Every given condition must hold; an empty match matches everything."""

    source: str | None = Field(default=None, description="the raising agent or person")
    service: str | None = None
    no_service: bool = Field(default=False, description="true: only incidents without service")
    labels: dict[str, str] = Field(default_factory=dict, description="each must equal")


class Route(PolicyModel):
    id: str = Field(description="named in every routing explanation")
    match: RouteMatch = RouteMatch()
    team: str
    chain: str


class SeverityClass(PolicyModel):
    """A class's channel plan and clocks (the escalator runs the clocks)."""

    channels: tuple[Channel, ...] = Field(min_length=1, description="the first page's channels")
    acceptance_sla: Duration | None = Field(
        default=None, description="past it, custody goes to the substitute; manager notified"
    )
    promote_after: Duration | None = Field(
        default=None, description="unacknowledged this long: page again on promote_to"
    )
    promote_to: tuple[Channel, ...] = ()
    followup_after: Duration | None = Field(
        default=None, description="acknowledged but unresolved this long: a follow-up note"
    )


DEFAULT_SEVERITY: dict[str, SeverityClass] = {
    "red": SeverityClass(channels=("sms",), followup_after=3600.0),
    "yellow": SeverityClass(
        channels=("email", "chat"), promote_after=900.0, promote_to=("sms",), followup_after=14400
    ),
    "green": SeverityClass(channels=("digest",)),
}


class SeverityInput(PolicyModel):
    """Maps one foreign severity, carried in a label, to a class."""

    name: str = Field(description="named in the explanation, e.g. pagerduty")
    label: str = Field(description="the label that carries it, e.g. severity")
    map: dict[str, ClassName] = Field(description="its values to red, yellow or green")


DEFAULT_INPUTS = (
    # PagerDuty Events v2: intake copies payload.severity into this label (beside pd_source).
    # PagerDuty itself treats critical and error as high urgency.
    SeverityInput(
        name="pagerduty",
        label="pd_severity",
        map={"critical": "red", "error": "red", "warning": "yellow", "info": "green"},
    ),
    # Alertmanager: the alert's own labels.severity.
    SeverityInput(
        name="alertmanager",
        label="severity",
        map={"critical": "red", "page": "red", "warning": "yellow", "info": "green"},
    ),
)


class Classification(PolicyModel):
    """How an incident gets its class: the first input whose label it carries, else its
    native severity; then customer impact raises it to at least `customer_impact`."""

    customer_impact: ClassName | None = Field(
        default="red", description="the least class of a customer-impacting incident"
    )
    inputs: tuple[SeverityInput, ...] = DEFAULT_INPUTS


class Caps(PolicyModel):
    pages_per_24h: int = Field(default=3, ge=1, description="past it, paging is muted")


class Policy(PolicyModel):
    admins: tuple[str, ...] = Field(default=(), description="may see and act on everything")
    operators: tuple[str, ...] = Field(default=(), description="people who may raise incidents")
    people: dict[str, Person]
    agents: dict[str, Agent] = Field(default_factory=dict)
    teams: dict[str, Team]
    chains: dict[str, Chain]
    routes: tuple[Route, ...] = Field(default=(), description="first match wins")
    default_team: str | None = Field(
        default=None, description="unmatched incidents go to its owner of last resort"
    )
    severity: dict[str, SeverityClass] = Field(default_factory=lambda: dict(DEFAULT_SEVERITY))
    classification: Classification = Classification()
    caps: Caps = Caps()

    @field_validator("severity", mode="before")
    @classmethod
    def _documented_defaults(cls, value: Any) -> Any:
        """A field a class leaves out keeps its documented value (YELLOW promotes after
        15 min unless the file says otherwise; `promote_after: null` turns it off)."""
        if not isinstance(value, dict):
            return value
        return {
            name: {**DEFAULT_SEVERITY[name].model_dump(), **plan}
            if name in DEFAULT_SEVERITY and isinstance(plan, dict)
            else plan
            for name, plan in value.items()
        }

    @field_validator("severity", mode="after")
    @classmethod
    def _every_class(cls, value: dict[str, SeverityClass]) -> dict[str, SeverityClass]:
        """A class the file leaves out keeps its documented plan."""
        return {**DEFAULT_SEVERITY, **value}

    @model_validator(mode="after")
    def _references_exist(self, info: ValidationInfo) -> Policy:
        """The loader collects the problems (to give each its line); anyone else gets them
        all in one error."""
        problems = check_references(self)
        sink = info.context.get(REFERENCE_PROBLEMS) if isinstance(info.context, dict) else None
        if isinstance(sink, list):
            sink.extend(problems)
        elif problems:
            raise ValueError("; ".join(f"{render(loc)}: {message}" for loc, message in problems))
        return self

    def home_team(self) -> str:
        """The team whose owner of last resort gets unmatched incidents."""
        return self.default_team or sorted(self.teams)[0]


__all__ = [
    "CLASS_NAMES",
    "EXCEPTION_CLASSES",
    "ROLES",
    "Agent",
    "Caps",
    "Chain",
    "ChainLevel",
    "Channel",
    "Classification",
    "Contacts",
    "ExceptionOwner",
    "ExceptionOwners",
    "Override",
    "Person",
    "Policy",
    "Presence",
    "QuietHours",
    "Rotation",
    "Route",
    "RouteMatch",
    "Schedule",
    "SeverityClass",
    "SeverityInput",
    "Team",
    "parse_duration",
]
