"""When batches go out (acceptance 5, the pure half): 07:00 on each recipient's own wall
clock, across zones and DST, each item in exactly one batch, never early."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custody_notifier.batches import batch_time
from custody_notifier.domain.schedule import (
    batch_for,
    batch_instant,
    due_days,
    next_batch,
    parse_at,
    zone_of,
)

STOCKHOLM, NEW_YORK, KOLKATA = (
    zone_of("Europe/Stockholm"),
    zone_of("America/New_York"),
    zone_of("Asia/Kolkata"),
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "zone", "expected_utc"),
    [
        (date(2026, 11, 22), STOCKHOLM, utc(2026, 11, 22, 6, 0)),  # CET, UTC+1
        (date(2026, 7, 1), STOCKHOLM, utc(2026, 7, 1, 5, 0)),  # CEST, UTC+2
        (date(2026, 11, 22), NEW_YORK, utc(2026, 11, 22, 12, 0)),  # EST, UTC-5
        (date(2026, 11, 22), KOLKATA, utc(2026, 11, 22, 1, 30)),  # IST, UTC+5:30
        # DST days: 07:00 exists on both, on the new offset.
        (date(2026, 3, 29), STOCKHOLM, utc(2026, 3, 29, 5, 0)),
        (date(2026, 10, 25), STOCKHOLM, utc(2026, 10, 25, 6, 0)),
        (date(2026, 3, 8), NEW_YORK, utc(2026, 3, 8, 11, 0)),
        (date(2026, 11, 1), NEW_YORK, utc(2026, 11, 1, 12, 0)),
    ],
)
def test_the_batch_is_at_0700_on_the_recipients_wall_clock(
    day: date, zone: object, expected_utc: datetime
) -> None:
    assert batch_instant(day, zone) == expected_utc  # type: ignore[arg-type]


def test_a_batch_time_in_a_dst_gap_happens_at_the_jump() -> None:
    # Stockholm springs 02:00 -> 03:00 on 2026-03-29: 02:30 never happens.
    assert batch_instant(date(2026, 3, 29), STOCKHOLM, time(2, 30)) == utc(2026, 3, 29, 1, 0)


def test_a_batch_time_that_happens_twice_happens_the_first_time() -> None:
    # Stockholm falls back 03:00 -> 02:00 on 2026-10-25: 02:30 happens twice.
    assert batch_instant(date(2026, 10, 25), STOCKHOLM, time(2, 30)) == utc(2026, 10, 25, 0, 30)


@pytest.mark.parametrize(
    ("moment", "zone", "day"),
    [
        (utc(2026, 11, 22, 5, 59, 59), STOCKHOLM, date(2026, 11, 22)),  # 06:59:59 local: today's
        (utc(2026, 11, 22, 6, 0), STOCKHOLM, date(2026, 11, 23)),  # 07:00 local: it just left
        (utc(2026, 11, 21, 22, 30), STOCKHOLM, date(2026, 11, 22)),  # 23:30 local: tomorrow's
        (utc(2026, 11, 22, 3, 0), NEW_YORK, date(2026, 11, 22)),  # 22:00 the evening before
        (utc(2026, 11, 22, 13, 0), NEW_YORK, date(2026, 11, 23)),
    ],
)
def test_an_item_joins_the_next_batch_after_it_happened(
    moment: datetime, zone: object, day: date
) -> None:
    assert batch_for(moment, zone) == day  # type: ignore[arg-type]


def test_due_days_are_the_recent_days_whose_0700_has_passed() -> None:
    before = utc(2026, 11, 22, 5, 59)  # 06:59 Stockholm
    after = utc(2026, 11, 22, 6, 0)  # 07:00 Stockholm
    assert due_days(before, STOCKHOLM) == [date(2026, 11, 20), date(2026, 11, 21)]
    assert due_days(after, STOCKHOLM) == [
        date(2026, 11, 20),
        date(2026, 11, 21),
        date(2026, 11, 22),
    ]
    # At 07:00 Stockholm it is 01:00 in New York: New York's 22nd is not due yet.
    assert date(2026, 11, 22) not in due_days(after, NEW_YORK)


@given(
    st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    )
)
def test_every_item_is_sent_at_the_first_0700_after_it_and_never_before(moment: datetime) -> None:
    for zone in (STOCKHOLM, NEW_YORK, KOLKATA):
        day = batch_for(moment, zone)
        instant = batch_instant(day, zone)
        assert instant > moment
        assert instant - moment <= timedelta(hours=25)  # at most a day (+1 h on a DST day)
        assert day not in due_days(instant - timedelta(microseconds=1), zone)
        assert day in due_days(instant, zone)
        assert next_batch(moment, zone) == instant


def test_the_batch_time_comes_from_settings_then_policy_then_0700() -> None:
    class Digests:
        at = "06:45"

    class Policy:
        digests = Digests()

    assert batch_time(object(), None) == time(7, 0)
    assert batch_time(Policy(), None) == time(6, 45)
    assert batch_time(Policy(), "07:00:30") == time(7, 0, 30)
    with pytest.raises(ValueError, match="not a time of day"):
        parse_at("7 o'clock")
