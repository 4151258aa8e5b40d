"""Pydantic models of the policy file (DESIGN.md § Policy)."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object) -> float:
    """'90s', '15m', '4h', '1d' or a number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _UNIT_S[match.group(2)]
    raise ValueError(f"{value!r} is not a duration (use e.g. 30s, 15m, 4h)")


Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        import difflib

        close = difflib.get_close_matches(value, sorted(available_timezones()), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ValueError(f"{value!r} is not an IANA zone{hint}") from exc
    return value


class Contacts(_Strict):
    sms: str | None = None
    email: str | None = None
    chat: str | None = None
    webhook: str | None = None


class QuietHours(_Strict):
    start: time = time(22, 0)
    end: time = time(7, 0)


class Person(_Strict):
    name: str
    timezone: str
    contacts: Contacts = Contacts()
    quiet_hours: QuietHours = QuietHours()
    token_sha256: str | None = None

    _zone = field_validator("timezone")(_check_zone)


class Agent(_Strict):
    description: str = ""
    token_sha256: str | None = None


class Rotation(_Strict):
    """A weekly rotation: the on-call person changes at `handoff` local time every week."""

    members: tuple[str, ...] = Field(min_length=1)
    handoff: time = time(9, 0)
    handoff_weekday: int = Field(default=0, ge=0, le=6)  # Monday
    start: str = "2026-01-05"  # a Monday; hand-offs are counted from here


class Schedule(_Strict):
    timezone: str = "UTC"
    primary: Rotation
    secondary: Rotation | None = None

    _zone = field_validator("timezone")(_check_zone)


class Team(_Strict):
    members: tuple[str, ...] = ()
    manager: str
    last_resort: str
    schedule: Schedule


Target = Literal["primary", "secondary", "manager"] | str


class ChainLevel(_Strict):
    targets: tuple[str, ...] = Field(min_length=1)  # primary | secondary | manager | person:<id>
    wait: Duration = 300.0


class Chain(_Strict):
    levels: tuple[ChainLevel, ...] = Field(min_length=1)
    repeat: int = Field(default=0, ge=0, le=10)


class RouteMatch(_Strict):
    source: str | None = None
    service: str | None = None
    no_service: bool = False
    labels: dict[str, str] = {}


class Route(_Strict):
    id: str
    match: RouteMatch = RouteMatch()
    team: str
    chain: str


class SeverityClass(_Strict):
    channels: tuple[str, ...]


class Policy(_Strict):
    admins: tuple[str, ...] = ()
    operators: tuple[str, ...] = ()  # people who may raise incidents
    people: dict[str, Person]
    agents: dict[str, Agent] = {}
    teams: dict[str, Team]
    chains: dict[str, Chain]
    routes: tuple[Route, ...] = ()
    default_team: str | None = None  # unmatched incidents go to its last resort
    severity: dict[str, SeverityClass] = {
        "red": SeverityClass(channels=("sms",)),
        "yellow": SeverityClass(channels=("email", "chat")),
        "green": SeverityClass(channels=("digest",)),
    }

    @model_validator(mode="after")
    def _references_exist(self) -> Policy:
        def person(where: str, name: str) -> None:
            if name not in self.people:
                raise ValueError(f"{where}: unknown person {name!r}")

        for name in (*self.admins, *self.operators):
            person("admins/operators", name)
        for team_id, team in self.teams.items():
            person(f"teams.{team_id}.manager", team.manager)
            person(f"teams.{team_id}.last_resort", team.last_resort)
            for member in team.members:
                person(f"teams.{team_id}.members", member)
            rotations = [team.schedule.primary, team.schedule.secondary]
            for rotation in filter(None, rotations):
                for member in rotation.members:
                    person(f"teams.{team_id}.schedule", member)
        for chain_id, chain in self.chains.items():
            for level in chain.levels:
                for target in level.targets:
                    if target in ("primary", "secondary", "manager"):
                        continue
                    if target.startswith("person:"):
                        person(f"chains.{chain_id}", target.removeprefix("person:"))
                        continue
                    raise ValueError(
                        f"chains.{chain_id}: target {target!r} must be primary, secondary, "
                        "manager or person:<id>"
                    )
        for route in self.routes:
            if route.team not in self.teams:
                raise ValueError(f"routes.{route.id}.team: unknown team {route.team!r}")
            if route.chain not in self.chains:
                raise ValueError(f"routes.{route.id}.chain: unknown chain {route.chain!r}")
        if self.default_team is not None and self.default_team not in self.teams:
            raise ValueError(f"default_team: unknown team {self.default_team!r}")
        return self
