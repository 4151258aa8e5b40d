"""Who is on call: weekly rotations on the local wall clock, across DST, with overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from custody.policy.model import Override, Rotation, Schedule
from custody_router.domain.schedule import on_call, resolve_layer

ROTA = Rotation(members=("ann", "ben"), handoff="09:00", handoff_weekday=0, start="2026-01-05")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("instant", "zone", "who"),
    [
        (utc(2026, 1, 5, 7, 59), "Europe/Stockholm", "ann"),  # 08:59 local, not started
        (utc(2026, 1, 5, 8, 0), "Europe/Stockholm", "ann"),  # first hand-off
        (utc(2026, 1, 12, 8, 0), "Europe/Stockholm", "ben"),  # week 2, CET
        # After spring-forward (29 March 2026) 09:00 local is 07:00 UTC.
        (utc(2026, 3, 30, 6, 59), "Europe/Stockholm", "ben"),  # 12th hand-off
        (utc(2026, 3, 30, 7, 0), "Europe/Stockholm", "ann"),
        # New York: DST began 8 March 2026; 09:00 EDT is 13:00 UTC.
        (utc(2026, 3, 9, 12, 59), "America/New_York", "ann"),
        (utc(2026, 3, 9, 13, 0), "America/New_York", "ben"),
        # Lord Howe: DST ended 5 April 2026 (+11 → +10:30); 09:00 is 22:30 UTC the day before.
        (utc(2026, 4, 5, 22, 29), "Australia/Lord_Howe", "ann"),
        (utc(2026, 4, 5, 22, 30), "Australia/Lord_Howe", "ben"),
    ],
)
def test_handoff_happens_at_local_wall_time(instant: datetime, zone: str, who: str) -> None:
    assert on_call(ROTA, zone, instant)[0] == who


# Hand-offs at night on the Sunday of each DST change. The rotation's first hand-off is a
# week earlier (ann); the one on the DST Sunday hands over to ben, at `switch` (UTC).
DST_HANDOFFS = [
    # Spring-forward: the hand-off wall time is inside the gap, so it happens at the jump.
    ("Europe/Stockholm", "2026-03-22", time(2, 30), utc(2026, 3, 29, 1, 0)),  # 02:00→03:00
    ("America/New_York", "2026-03-01", time(2, 30), utc(2026, 3, 8, 7, 0)),  # 02:00→03:00
    ("Australia/Lord_Howe", "2026-09-27", time(2, 10), utc(2026, 10, 3, 15, 30)),  # →02:30
    # Just outside the gaps: ordinary hand-offs.
    ("Europe/Stockholm", "2026-03-22", time(3, 0), utc(2026, 3, 29, 1, 0)),
    ("Australia/Lord_Howe", "2026-09-27", time(2, 30), utc(2026, 10, 3, 15, 30)),
    # Fall-back: the hand-off wall time happens twice; the first occurrence counts.
    ("Europe/Stockholm", "2026-10-18", time(2, 30), utc(2026, 10, 25, 0, 30)),  # CEST
    ("America/New_York", "2026-10-25", time(1, 30), utc(2026, 11, 1, 5, 30)),  # EDT
    ("Australia/Lord_Howe", "2026-03-29", time(1, 45), utc(2026, 4, 4, 14, 45)),  # +11
]


@pytest.mark.parametrize(("zone", "start", "handoff", "switch"), DST_HANDOFFS)
def test_dst_handoff_happens_once_at_the_documented_instant(
    zone: str, start: str, handoff: time, switch: datetime
) -> None:
    rota = Rotation(
        members=("ann", "ben"), handoff=handoff, handoff_weekday=6, start=date.fromisoformat(start)
    )
    assert on_call(rota, zone, switch - timedelta(seconds=1))[0] == "ann"
    assert on_call(rota, zone, switch)[0] == "ben"
    # Monotonic: through the repeated hour of a fall-back nobody hands the pager back.
    for minutes in range(0, 180, 5):
        assert on_call(rota, zone, switch + timedelta(minutes=minutes))[0] == "ben"


def test_the_why_names_the_handoff_in_local_time() -> None:
    rota = Rotation(members=("ann", "ben"), handoff="02:30", handoff_weekday=6, start="2026-03-22")
    person, why = on_call(rota, "Europe/Stockholm", utc(2026, 3, 29, 1, 0))
    assert person == "ben"
    assert why == "ben, on call since the hand-off of 2026-03-29 03:00 CEST (Europe/Stockholm)"


# Overrides against a Monday 09:00 Stockholm rotation of ann and ben; on 2026-01-12 the
# rotation hands over from ann to ben at 09:00 CET (08:00 UTC).
SCHEDULE = Schedule(
    timezone="Europe/Stockholm",
    primary=ROTA,
    secondary=Rotation(members=("dan",)),
    overrides=(
        # Covers the hand-off: cat holds primary from 08:00 to 10:00 local.
        Override(layer="primary", person="cat", start="2026-01-12T08:00", end="2026-01-12T10:00"),
        # Given as instants, ending exactly at a later hand-off (09:00 CET on the 19th).
        Override(
            layer="primary",
            person="dan",
            start="2026-01-18T00:00:00+00:00",
            end="2026-01-19T08:00:00+00:00",
        ),
        # A secondary override never touches the primary layer.
        Override(layer="secondary", person="ann", start="2026-01-12T00:00", end="2026-01-13T00:00"),
        # Starts inside the spring-forward gap: at the jump, 01:00 UTC.
        Override(layer="primary", person="eve", start="2026-03-29T02:30", end="2026-03-29T05:00"),
    ),
)


@pytest.mark.parametrize(
    ("instant", "layer", "who", "by_override"),
    [
        (utc(2026, 1, 12, 6, 59), "primary", "ann", False),  # 07:59 local
        (utc(2026, 1, 12, 7, 0), "primary", "cat", True),  # override starts 08:00 local
        (utc(2026, 1, 12, 8, 0), "primary", "cat", True),  # hand-off hidden by the override
        (utc(2026, 1, 12, 8, 59), "primary", "cat", True),
        (utc(2026, 1, 12, 9, 0), "primary", "ben", False),  # override ends: the new holder
        (utc(2026, 1, 17, 23, 59), "primary", "ben", False),
        (utc(2026, 1, 18, 0, 0), "primary", "dan", True),
        (utc(2026, 1, 19, 7, 59), "primary", "dan", True),
        (utc(2026, 1, 19, 8, 0), "primary", "ann", False),  # ends at the hand-off
        (utc(2026, 1, 12, 8, 0), "secondary", "ann", True),
        (utc(2026, 1, 13, 0, 0), "secondary", "dan", False),
        (utc(2026, 3, 29, 0, 59), "primary", "ben", False),  # 01:59 CET, before the jump
        (utc(2026, 3, 29, 1, 0), "primary", "eve", True),  # 03:00 CEST: the gap's end
    ],
)
def test_overrides_win_over_the_rotation(
    instant: datetime, layer: str, who: str, by_override: bool
) -> None:
    found = resolve_layer(SCHEDULE, layer, instant)
    assert found.person == who
    assert ("by overrides[" in found.why) == by_override


def test_a_missing_secondary_resolves_to_nobody_with_a_reason() -> None:
    found = resolve_layer(Schedule(primary=ROTA), "secondary", utc(2026, 1, 12, 8, 0))
    assert found.person is None
    assert found.why == "secondary: the team has no secondary rotation"
