"""What a local wall time written in the policy means as an instant, across DST.

One rule, used for rotation hand-offs, override bounds, presence and the end of quiet hours:

- **Overlap** (the clock falls back, so a wall time happens twice): it means the *first*
  occurrence. Stockholm 2026-10-25 02:30 means 02:30 CEST (00:30 UTC), not 02:30 CET.
- **Gap** (the clock springs forward over it, so the wall time never happens): it means the
  first instant whose wall time is later, i.e. *the instant the clock jumps*. Stockholm
  2026-03-29 02:30 does not exist; it means 03:00 CEST (01:00 UTC). A 09:00-style hand-off
  never falls in a gap in practice, but a 02:30 one does, and then it happens at the jump:
  neither skipped nor an hour late.

Both choices keep a schedule monotonic: the sequence of hand-off instants never goes
backwards, and a person is never on call twice for the same wall-clock hour.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def wall(instant: datetime, zone: ZoneInfo) -> datetime:
    """The naive local wall time of an aware `instant` in `zone`. Through UTC: astimezone()
    to the datetime's own tzinfo returns it unchanged, even for a wall time in a gap."""
    return instant.astimezone(UTC).astimezone(zone).replace(tzinfo=None)


def exists(local: datetime, zone: ZoneInfo) -> bool:
    """False for a wall time inside a DST gap."""
    return wall(local.replace(tzinfo=zone, fold=0), zone) == local


def to_instant(local: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant a wall time in `zone` means (see the module docstring). An aware
    datetime already names an instant and is only converted."""
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    if exists(local, zone):
        return local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    return _gap_end(local, zone)


def occurrences(local: datetime, zone: ZoneInfo) -> tuple[datetime, ...]:
    """Every instant whose wall time is `local`: one, two in an overlap, none in a gap."""
    if local.tzinfo is not None:
        return (local.astimezone(UTC),)
    found = {local.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1)}
    return tuple(sorted(i for i in found if wall(i, zone) == local))


def _gap_end(local: datetime, zone: ZoneInfo) -> datetime:
    """The instant the clock jumps over `local`. With fold=1 the wall time maps before the
    jump and with fold=0 after it, so the jump lies between: bisect on whole seconds."""
    before = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    after = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    low, high = min(before, after), max(before, after)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if wall(middle, zone) >= local:
            high = middle
        else:
            low = middle
    return high if wall(low, zone) < local else low
