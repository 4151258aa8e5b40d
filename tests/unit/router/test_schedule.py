"""Weekly rotations on the local wall clock, across DST."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from custody.policy.model import Rotation
from custody_router.domain.schedule import on_call

ROTA = Rotation(members=("ann", "ben"), handoff="09:00", handoff_weekday=0, start="2026-01-05")


@pytest.mark.parametrize(
    ("instant", "zone", "who"),
    [
        (datetime(2026, 1, 5, 7, 59, tzinfo=UTC), "Europe/Stockholm", "ann"),  # 08:59 local
        (datetime(2026, 1, 5, 8, 0, tzinfo=UTC), "Europe/Stockholm", "ann"),  # first hand-off
        (datetime(2026, 1, 12, 8, 0, tzinfo=UTC), "Europe/Stockholm", "ben"),  # week 2, CET
        # After spring-forward (29 March 2026) 09:00 local is 07:00 UTC.
        (datetime(2026, 3, 30, 6, 59, tzinfo=UTC), "Europe/Stockholm", "ben"),  # 12th hand-off
        (datetime(2026, 3, 30, 7, 0, tzinfo=UTC), "Europe/Stockholm", "ann"),
        # New York: DST began 8 March 2026; 09:00 EDT is 13:00 UTC.
        (datetime(2026, 3, 9, 12, 59, tzinfo=UTC), "America/New_York", "ann"),
        (datetime(2026, 3, 9, 13, 0, tzinfo=UTC), "America/New_York", "ben"),
    ],
)
def test_handoff_happens_at_local_wall_time(instant: datetime, zone: str, who: str) -> None:
    assert on_call(ROTA, zone, instant)[0] == who
