"""The one DST rule for local times in the policy: gaps mean the jump, overlaps the first."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from custody.policy.wallclock import exists, occurrences, to_instant, wall


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "local", "instant"),
    [
        # Spring-forward gaps: the wall time never happens; it means the instant of the jump.
        ("Europe/Stockholm", datetime(2026, 3, 29, 2, 30), utc(2026, 3, 29, 1, 0)),
        ("Europe/Stockholm", datetime(2026, 3, 29, 2, 0), utc(2026, 3, 29, 1, 0)),
        ("America/New_York", datetime(2026, 3, 8, 2, 15), utc(2026, 3, 8, 7, 0)),
        # Lord Howe springs forward by only 30 minutes, 02:00 → 02:30 (+10:30 → +11).
        ("Australia/Lord_Howe", datetime(2026, 10, 4, 2, 10), utc(2026, 10, 3, 15, 30)),
        # Fall-back overlaps: the wall time happens twice; it means the first.
        ("Europe/Stockholm", datetime(2026, 10, 25, 2, 30), utc(2026, 10, 25, 0, 30)),
        ("America/New_York", datetime(2026, 11, 1, 1, 30), utc(2026, 11, 1, 5, 30)),
        # Lord Howe falls back 30 minutes, 02:00 → 01:30 (+11 → +10:30).
        ("Australia/Lord_Howe", datetime(2026, 4, 5, 1, 45), utc(2026, 4, 4, 14, 45)),
        # Ordinary times either side.
        ("Europe/Stockholm", datetime(2026, 3, 29, 3, 0), utc(2026, 3, 29, 1, 0)),
        ("Europe/Stockholm", datetime(2026, 3, 29, 1, 59), utc(2026, 3, 29, 0, 59)),
    ],
)
def test_local_time_means_one_instant(zone: str, local: datetime, instant: datetime) -> None:
    assert to_instant(local, ZoneInfo(zone)) == instant


@pytest.mark.parametrize(
    ("zone", "local", "count"),
    [
        ("Europe/Stockholm", datetime(2026, 3, 29, 2, 30), 0),
        ("Europe/Stockholm", datetime(2026, 10, 25, 2, 30), 2),
        ("Australia/Lord_Howe", datetime(2026, 4, 5, 1, 45), 2),
        ("Australia/Lord_Howe", datetime(2026, 4, 5, 2, 0), 1),
        ("Australia/Lord_Howe", datetime(2026, 10, 4, 2, 29), 0),
    ],
)
def test_occurrences_count_gaps_and_overlaps(zone: str, local: datetime, count: int) -> None:
    tz = ZoneInfo(zone)
    found = occurrences(local, tz)
    assert len(found) == count
    assert exists(local, tz) == (count > 0)
    assert all(wall(instant, tz) == local for instant in found)


def test_an_aware_time_is_already_an_instant() -> None:
    moment = datetime.fromisoformat("2026-03-29T02:30:00+05:00")
    assert to_instant(moment, ZoneInfo("Europe/Stockholm")) == utc(2026, 3, 28, 21, 30)
