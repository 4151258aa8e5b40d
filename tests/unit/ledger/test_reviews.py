"""Post-escalation reviews: who may attach one, and that a retry records it once."""

import pytest

from custody_ledger.domain.projection import Escalation
from custody_ledger.domain.reviews import Review, refusal, review_fact
from tests.unit.ledger.factories import at

RESOLVED = Escalation("e1", state="resolved", raised_by="alice", people=("bob", "carol"))
REVIEW = Review(threshold_right=False, if_earlier="caught before checkout broke", gap="alert")


@pytest.mark.parametrize(
    ("who", "view", "is_person", "is_admin", "expected"),
    [
        ("bob", RESOLVED, True, False, None),  # in the chain
        ("alice", RESOLVED, True, False, None),  # raised it
        ("dave", RESOLVED, True, True, None),  # admin
        ("erin", RESOLVED, True, False, "not_found"),  # never in it: do not confirm it exists
        ("monitor-1", RESOLVED, False, False, "forbidden"),  # agents do not review
        ("bob", Escalation("e1", state="accepted", people=("bob",)), True, False, "not_resolved"),
    ],
)
def test_who_may_review(
    who: str, view: Escalation, is_person: bool, is_admin: bool, expected: str | None
) -> None:
    assert refusal(view, who, is_person=is_person, is_admin=is_admin) == expected


def test_the_same_review_posted_twice_is_one_fact() -> None:
    first = review_fact("e1", "bob", REVIEW, at(10))
    again = review_fact("e1", "bob", REVIEW, at(20))
    other = review_fact("e1", "carol", REVIEW, at(10))
    assert first.msg_id == again.msg_id != other.msg_id
    assert first.msg_id.startswith("review:e1:")
    assert (first.kind, first.actor, first.stream) == ("review", "bob", "LEDGER")
    assert first.payload["gap"] == "alert"
    assert first.payload["threshold_right"] is False
