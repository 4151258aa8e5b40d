"""Quiet hours on the recipient's own wall clock: windows that wrap midnight, across DST."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from custody.policy.model import Person, Presence, QuietHours
from custody_router.domain.quiet_hours import quiet_state


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def person(zone: str, start: str = "22:00", end: str = "07:00") -> Person:
    return Person(name="x", timezone=zone, quiet_hours=QuietHours(start=start, end=end))


@pytest.mark.parametrize(
    ("zone", "window", "instant", "ends_at"),
    [
        # 22:00–07:00 wraps midnight (Stockholm in winter is UTC+1).
        ("Europe/Stockholm", ("22:00", "07:00"), utc(2026, 11, 22, 20, 59), None),  # 21:59
        ("Europe/Stockholm", ("22:00", "07:00"), utc(2026, 11, 22, 21, 0), utc(2026, 11, 23, 6)),
        ("Europe/Stockholm", ("22:00", "07:00"), utc(2026, 11, 22, 23, 30), utc(2026, 11, 23, 6)),
        ("Europe/Stockholm", ("22:00", "07:00"), utc(2026, 11, 23, 3, 14), utc(2026, 11, 23, 6)),
        ("Europe/Stockholm", ("22:00", "07:00"), utc(2026, 11, 23, 6, 0), None),  # 07:00 sharp
        # A window that does not wrap.
        ("Europe/Stockholm", ("13:00", "15:00"), utc(2026, 11, 23, 12, 30), utc(2026, 11, 23, 14)),
        ("Europe/Stockholm", ("13:00", "15:00"), utc(2026, 11, 23, 23, 30), None),
        # Spring-forward night: quiet at 01:30 CET, ends 07:00 CEST (05:00 UTC).
        ("Europe/Stockholm", ("22:00", "07:00"), utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 5)),
        # Fall-back night: quiet in the repeated hour, ends 07:00 CET (06:00 UTC).
        ("Europe/Stockholm", ("22:00", "07:00"), utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 6)),
        ("America/New_York", ("22:00", "07:00"), utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 11)),
        ("America/New_York", ("22:00", "07:00"), utc(2026, 11, 1, 6, 30), utc(2026, 11, 1, 12)),
        # Lord Howe's 30-minute shifts: +10:30 → +11 in October, +11 → +10:30 in April.
        ("Australia/Lord_Howe", ("22:00", "07:00"), utc(2026, 10, 3, 15), utc(2026, 10, 3, 20)),
        (
            "Australia/Lord_Howe",
            ("22:00", "07:00"),
            utc(2026, 4, 4, 15, 10),
            utc(2026, 4, 4, 20, 30),
        ),
        # The end itself inside the spring-forward gap: quiet hours end at the jump.
        ("Europe/Stockholm", ("23:00", "02:30"), utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1)),
        # The end inside the repeated hour: the next occurrence after now, never the past.
        (
            "Europe/Stockholm",
            ("23:00", "02:30"),
            utc(2026, 10, 25, 0, 10),
            utc(2026, 10, 25, 0, 30),
        ),
        ("Europe/Stockholm", ("23:00", "02:30"), utc(2026, 10, 25, 0, 45), None),  # 02:45 CEST
        # ...and the wall clock reads 02:10 again an hour later: quiet again, until 02:30 CET.
        (
            "Europe/Stockholm",
            ("23:00", "02:30"),
            utc(2026, 10, 25, 1, 10),
            utc(2026, 10, 25, 1, 30),
        ),
        (
            "Australia/Lord_Howe",
            ("22:00", "01:45"),
            utc(2026, 4, 4, 15, 0),
            utc(2026, 4, 4, 15, 15),
        ),
    ],
)
def test_quiet_hours_on_the_recipients_wall_clock(
    zone: str, window: tuple[str, str], instant: datetime, ends_at: datetime | None
) -> None:
    state = quiet_state("p", person(zone, *window), instant)
    assert state.quiet == (ends_at is not None)
    assert state.ends_at == ends_at
    assert state.zone == zone
    assert state.local_time.utcoffset() == instant.astimezone(state.local_time.tzinfo).utcoffset()


def test_the_state_reads_in_the_recipients_zone() -> None:
    state = quiet_state("bob", person("Europe/Stockholm"), utc(2026, 11, 23, 3, 14))
    assert state.describe() == (
        "bob 04:14 CET (Europe/Stockholm): in quiet hours 22:00–07:00 until 2026-11-23 07:00 CET"
    )
    assert state.as_dict()["ends_at"] == "2026-11-23T06:00:00+00:00"


def test_quiet_hours_can_be_off() -> None:
    off = Person(name="x", timezone="UTC", quiet_hours=QuietHours(enabled=False))
    state = quiet_state("p", off, utc(2026, 11, 23, 3))
    assert (state.quiet, state.window) == (False, "off")


@pytest.mark.parametrize(
    ("presence", "awake"),
    [
        (Presence(), False),  # off by default
        (Presence(awake=True), True),
        (Presence(awake=True, until="2026-11-23T05:00"), True),  # local: 04:00 UTC
        (Presence(awake=True, until="2026-11-23T04:14"), False),  # lapsed at 03:14 UTC
        (Presence(awake=True, until="2026-11-23T03:00:00+00:00"), False),
    ],
)
def test_presence_override_is_off_by_default_and_can_lapse(presence: Presence, awake: bool) -> None:
    someone = Person(name="x", timezone="Europe/Stockholm", presence=presence)
    state = quiet_state("p", someone, utc(2026, 11, 23, 3, 14))
    assert state.quiet
    assert state.awake == awake
