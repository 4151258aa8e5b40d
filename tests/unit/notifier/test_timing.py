"""How long a sender may retry recording an outcome: always well inside the claim lease."""

from __future__ import annotations

from datetime import timedelta

import pytest

from custody_notifier.pages import Timing


@pytest.mark.parametrize(
    ("send_timeout_s", "lease_s", "budget_s"),
    [
        (15.0, 45.0, 20.0),  # the defaults: capped at FINISH_BUDGET_S
        (15.0, 120.0, 20.0),  # a long lease does not make the retry longer
        (10.0, 25.0, 5.0),  # lease - send - 10 s margin
        (1.0, 2.0, 1.0),  # never less than one second
    ],
)
def test_finish_budget_leaves_the_lease_a_margin(
    send_timeout_s: float, lease_s: float, budget_s: float
) -> None:
    timing = Timing(send_timeout_s, timedelta(seconds=lease_s))
    assert timing.finish_budget_s == budget_s
    if lease_s - send_timeout_s > 11:
        assert send_timeout_s + timing.finish_budget_s <= lease_s - 10
