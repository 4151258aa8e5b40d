"""Who is on call at an instant: weekly rotations with a local hand-off time."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from custody.policy.model import Rotation

_WEEK = timedelta(days=7)


def on_call(rotation: Rotation, zone: str, now: datetime) -> tuple[str, str]:
    """(person, why). Hand-offs are compared on the local wall clock of `zone`, so a hand-off
    at 09:00 happens at 09:00 local on both sides of a DST change. A hand-off that falls in a
    DST gap (a wall time that does not exist that day) takes effect when the clock jumps past
    it, i.e. at the first instant whose local time is later."""
    local = now.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    start = date.fromisoformat(rotation.start)
    days_ahead = (rotation.handoff_weekday - start.weekday()) % 7
    first = datetime.combine(start + timedelta(days=days_ahead), rotation.handoff)
    members = rotation.members
    if local < first:
        return members[0], f"rotation not started; first hand-off {first:%Y-%m-%d %H:%M} {zone}"
    handoffs = (local - first) // _WEEK
    person = members[handoffs % len(members)]
    since = first + handoffs * _WEEK
    return person, f"on call since {since:%Y-%m-%d %H:%M} {zone} (rotation of {len(members)})"
