"""Quiet hours: a window on the recipient's own wall clock, which may wrap midnight.

The window is read on the wall clock, so 22:00–07:00 means that whatever the date's UTC
offset. Its end, the morning batch, is an instant found by the DST rule of
custody.policy.wallclock, and is always after `now`: an end that falls in a repeated hour
(the clock fell back) is the next occurrence after `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from custody.policy.model import Person, Presence
from custody.policy.wallclock import occurrences, to_instant, wall


@dataclass(frozen=True)
class QuietState:
    """One recipient's quiet-hours state at an instant, in their own zone."""

    person: str
    zone: str
    local_time: datetime  # aware, in `zone`
    window: str  # "22:00–07:00", or "off"
    quiet: bool
    ends_at: datetime | None  # UTC: the end of these quiet hours (the morning batch)
    awake: bool  # the presence override ("recipient is awake") is in force

    def describe(self) -> str:
        local = f"{self.person} {self.local_time:%H:%M %Z} ({self.zone})"
        if not self.quiet:
            return f"{local}: outside quiet hours {self.window}"
        assert self.ends_at is not None
        ends = self.ends_at.astimezone(ZoneInfo(self.zone))
        awake = "; marked awake (presence override)" if self.awake else ""
        return f"{local}: in quiet hours {self.window} until {ends:%Y-%m-%d %H:%M %Z}{awake}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "person": self.person,
            "zone": self.zone,
            "local_time": self.local_time.isoformat(),
            "window": self.window,
            "quiet": self.quiet,
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
            "presence_override": self.awake,
            "summary": self.describe(),
        }


def quiet_state(person_id: str, person: Person, now: datetime) -> QuietState:
    zone = ZoneInfo(person.timezone)
    hours = person.quiet_hours
    local = wall(now, zone)
    end_day = _end_day(hours.start, hours.end, local) if hours.enabled else None
    ends_at = _end_after(end_day, hours.end, zone, now) if end_day is not None else None
    return QuietState(
        person=person_id,
        zone=person.timezone,
        local_time=now.astimezone(zone),
        window=f"{hours.start:%H:%M}–{hours.end:%H:%M}" if hours.enabled else "off",
        quiet=ends_at is not None,
        ends_at=ends_at,
        awake=is_awake(person.presence, zone, now),
    )


def _end_day(start: time, end: time, local: datetime) -> date | None:
    """The local date the window around `local` ends on, or None when outside it."""
    moment = local.time()
    if start < end:
        return local.date() if start <= moment < end else None
    if moment >= start:  # evening part of a window that wraps midnight: ends tomorrow
        return local.date() + timedelta(days=1)
    return local.date() if moment < end else None


def _end_after(day: date, end: time, zone: ZoneInfo, now: datetime) -> datetime:
    local_end = datetime.combine(day, end)
    later = [instant for instant in occurrences(local_end, zone) if instant > now]
    return later[0] if later else to_instant(local_end, zone)


def is_awake(presence: Presence, zone: ZoneInfo, now: datetime) -> bool:
    """The presence override, off by default; with `until`, only before that instant."""
    if not presence.awake:
        return False
    return presence.until is None or now < to_instant(presence.until, zone)
