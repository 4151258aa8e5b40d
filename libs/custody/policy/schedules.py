"""On-call schedules in the policy: weekly rotations in layers, and time-bounded overrides.

Who is on call at an instant is resolved by the router (custody_router.domain.schedule);
what the local times written here mean across DST is custody.policy.wallclock.
"""

from __future__ import annotations

from datetime import date, time
from typing import Literal

from pydantic import Field, model_validator

from custody.policy.fields import LocalDateTime, PolicyModel, WallTime, Weekday, Zone

Layer = Literal["primary", "secondary"]


class Rotation(PolicyModel):
    """A weekly rotation: the next member takes over at `handoff` local time on
    `handoff_weekday`, every week, counted from the first such hand-off on or after `start`."""

    members: tuple[str, ...] = Field(min_length=1, description="people, in rotation order")
    handoff: WallTime = Field(default=time(9, 0), description="local hand-off time, HH:MM")
    handoff_weekday: Weekday = Field(default=0, description="weekday of the hand-off")
    start: date = Field(default=date(2026, 1, 5), description="hand-offs are counted from here")


class Override(PolicyModel):
    """`person` takes `layer` from `start` until `end` (e.g. a swap, or cover for leave)."""

    layer: Layer = Field(description="primary or secondary")
    person: str = Field(description="who is on call instead")
    start: LocalDateTime = Field(description="local to the schedule's zone unless it has an offset")
    end: LocalDateTime = Field(description="local to the schedule's zone unless it has an offset")
    reason: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Override:
        if (self.start.tzinfo is None) != (self.end.tzinfo is None):
            raise ValueError("give start and end both with a UTC offset, or both without")
        if self.end <= self.start:
            raise ValueError(
                f"end {self.end.isoformat()} is not after start {self.start.isoformat()}"
            )
        return self


class Schedule(PolicyModel):
    timezone: Zone = Field(default="UTC", description="the zone of hand-offs and overrides")
    primary: Rotation
    secondary: Rotation | None = None
    overrides: tuple[Override, ...] = Field(default=(), description="time-bounded swaps")
