"""When batches go out: the daily digest and the morning batch at 07:00 recipient-local.

Each item belongs to exactly one batch, named by the recipient's local date: the first batch
instant after the moment the item happened. The scheduler sends the batch of day D once
`now` has passed D's instant (late if the notifier was down, never early), and only while D
is recent (`LOOKBACK_DAYS`): a batch is never sent twice, because its claim is a KV create.

Local times follow the policy's DST rule (custody.policy.wallclock): a batch time inside a
spring-forward gap happens at the jump, one that happens twice happens the first time.
Pure: `now` is always a parameter.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from custody.policy.wallclock import to_instant, wall

BatchKind = Literal["digest", "morning"]
BATCH_KINDS: tuple[BatchKind, ...] = ("digest", "morning")
DEFAULT_AT = time(7, 0)
LOOKBACK_DAYS = 2  # a notifier down over 07:00 still sends yesterday's batch when back
_AT = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?\s*$")


def parse_at(text: str | None, default: time = DEFAULT_AT) -> time:
    """'07:00' or '07:00:30'; the default when empty. Raises ValueError when unreadable."""
    if text is None or not text.strip():
        return default
    match = _AT.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a time of day (use HH:MM, e.g. 07:00)")
    return time(int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))


def zone_of(name: str) -> ZoneInfo:
    """The recipient's zone; UTC when the name is unknown (the page still goes out)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def batch_instant(day: date, zone: ZoneInfo, at: time = DEFAULT_AT) -> datetime:
    """The UTC instant of day's batch, `at` on the recipient's wall clock."""
    return to_instant(datetime.combine(day, at), zone)


def batch_for(moment: datetime, zone: ZoneInfo, at: time = DEFAULT_AT) -> date:
    """The batch an item that happened at `moment` belongs to: today's if its instant is
    still ahead, else tomorrow's (in the recipient's zone)."""
    today = wall(moment, zone).date()
    return today if moment < batch_instant(today, zone, at) else today + timedelta(days=1)


def due_days(now: datetime, zone: ZoneInfo, at: time = DEFAULT_AT) -> list[date]:
    """The recent local days whose batch instant has passed, oldest first."""
    today = wall(now, zone).date()
    days = [today - timedelta(days=n) for n in range(LOOKBACK_DAYS, -1, -1)]
    return [d for d in days if batch_instant(d, zone, at) <= now]


def next_batch(now: datetime, zone: ZoneInfo, at: time = DEFAULT_AT) -> datetime:
    """The next batch instant strictly after `now`."""
    day = batch_for(now, zone, at)
    instant = batch_instant(day, zone, at)
    return instant if instant > now else batch_instant(day + timedelta(days=1), zone, at)


def batch_key(kind: BatchKind, recipient_token: str, day: date) -> str:
    return f"batch.{kind}.{recipient_token}.{day.isoformat()}"
