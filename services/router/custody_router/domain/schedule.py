"""Who is on call at an instant: weekly rotations in layers, and time-bounded overrides.

Hand-offs are wall times in the schedule's zone. They become instants by the one DST rule of
custody.policy.wallclock: a hand-off inside a DST gap happens the instant the clock jumps
over it (Stockholm 2026-03-29 02:30 → 03:00 CEST); one inside an overlap happens at its first
occurrence. Counting hand-offs as instants, never as wall times, keeps the rotation
monotonic: across a fall-back hour nobody is handed the pager back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from custody.policy.model import Rotation, Schedule
from custody.policy.wallclock import to_instant, wall

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class OnCall:
    """Who holds a layer now (None: nobody), and why, in words for the explanation."""

    person: str | None
    why: str


def first_handoff_date(rotation: Rotation) -> date:
    """The first `handoff_weekday` on or after `start`."""
    return rotation.start + timedelta(
        days=(rotation.handoff_weekday - rotation.start.weekday()) % 7
    )


def handoff_at(rotation: Rotation, zone: ZoneInfo, number: int) -> datetime:
    """The instant of hand-off `number` (0 is the first)."""
    day = first_handoff_date(rotation) + number * WEEK
    return to_instant(datetime.combine(day, rotation.handoff), zone)


def handoffs_until(rotation: Rotation, zone: ZoneInfo, now: datetime) -> int:
    """How many hand-offs have happened at or before `now`. The wall-clock estimate can be
    one off near a DST change (the offset moves by at most a few hours), so it is corrected
    against the real instants."""
    first = datetime.combine(first_handoff_date(rotation), rotation.handoff)
    count = max((wall(now, zone) - first) // WEEK + 1, 0)
    while count > 0 and handoff_at(rotation, zone, count - 1) > now:
        count -= 1
    while handoff_at(rotation, zone, count) <= now:
        count += 1
    return count


def on_call(rotation: Rotation, zone: str, now: datetime) -> tuple[str, str]:
    """(person, why) for one rotation. Before its first hand-off the first member holds it."""
    tz = ZoneInfo(zone)
    members = rotation.members
    count = handoffs_until(rotation, tz, now)
    if len(members) == 1:
        return members[0], f"{members[0]}, the only member of the rotation"
    if count == 0:
        first = handoff_at(rotation, tz, 0)
        return members[0], f"{members[0]}, first of the rotation (it starts {_local(first, tz)})"
    person = members[(count - 1) % len(members)]
    since = handoff_at(rotation, tz, count - 1)
    return person, f"{person}, on call since the hand-off of {_local(since, tz)}"


def resolve_layer(schedule: Schedule, layer: str, now: datetime) -> OnCall:
    """The `primary` or `secondary` of `schedule` at `now`: an override covering `now` wins
    over the rotation (overrides of one layer never overlap; the policy rejects that)."""
    zone = ZoneInfo(schedule.timezone)
    for index, override in enumerate(schedule.overrides):
        start, end = to_instant(override.start, zone), to_instant(override.end, zone)
        if override.layer == layer and start <= now < end:
            reason = f", {override.reason}" if override.reason else ""
            return OnCall(
                override.person,
                f"{layer}: {override.person} by overrides[{index}] until {_local(end, zone)}"
                f"{reason}",
            )
    rotation: Rotation | None = getattr(schedule, layer)
    if rotation is None:
        return OnCall(None, f"{layer}: the team has no {layer} rotation")
    person, why = on_call(rotation, schedule.timezone, now)
    return OnCall(person, f"{layer}: {why}")


def _local(instant: datetime, zone: ZoneInfo) -> str:
    """`2026-03-29 03:00 CEST (Europe/Stockholm)`: readable at 03:00 without a converter."""
    return f"{instant.astimezone(zone):%Y-%m-%d %H:%M %Z} ({zone.key})"
