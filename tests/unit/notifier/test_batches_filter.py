"""The notifier's custody durable is filtered on the server: every change the notifier acts
on must be one it is handed."""

from __future__ import annotations

import itertools
from typing import get_args

import pytest

from custody import subjects
from custody.contracts import CustodyChanged
from custody.contracts.facts import CustodyChange, EscalationState
from custody_notifier.batches import item_of
from custody_notifier.notices import SYNC_CHANGES

CHANGES = get_args(CustodyChange)
STATES = get_args(EscalationState)


def test_notices_are_for_changes_the_durable_delivers() -> None:
    assert set(SYNC_CHANGES) <= set(subjects.NOTIFIER_CUSTODY_CHANGES)


@pytest.mark.parametrize(("change", "state"), list(itertools.product(CHANGES, STATES)))
def test_every_batched_change_is_delivered(change: str, state: str) -> None:
    fact = CustodyChanged.model_construct(change=change, state=state)
    if item_of(fact) is not None:
        assert change in subjects.NOTIFIER_CUSTODY_CHANGES
