"""The report tables' projection: right times and counts, whatever order facts arrive in."""

import random
from datetime import datetime

from custody_ledger.domain.facts import Fact
from custody_ledger.domain.report_projection import EscalationStats, fold, in_doubt_pages
from tests.unit.ledger import factories as f
from tests.unit.ledger.factories import at


def _custody(eid: str, change: str, version: int, s: float, level: int = 1, **kw: str) -> Fact:
    fact = f.custody(eid, change, version=version, state="offered", custodian="bob", s=s)
    payload = {**fact.payload, "level": level, **kw}
    return Fact(**{**fact.__dict__, "payload": payload})


def _facts(eid: str) -> list[Fact]:
    """Offered at level 1, timed out, offered at level 2, declined, re-offered at 2, acked at 2,
    a follow-up, resolved; plus a page in doubt."""
    return [
        f.raised(eid),
        f.routed(eid),
        _custody(eid, "offered", 1, 0.1),
        _custody(eid, "timed_out", 2, 300),
        _custody(eid, "offered", 3, 300.5, level=2),
        _custody(eid, "declined", 4, 310, level=2),
        _custody(eid, "offered", 5, 311, level=2),
        _custody(eid, "acknowledged", 6, 320, level=2),
        _custody(eid, "followup", 7, 3920, reason="acknowledged 60 min ago, still open"),
        _custody(eid, "resolved", 8, 4000),
        f.page(eid, outcome="page_in_doubt", s=0.3),
    ]


EXPECTED = EscalationStats(
    escalation_id="e1",
    severity="red",
    team="payments",
    opened_at=at(0),
    first_offered_at=at(0.1),
    acknowledged_at=at(320),
    ack_level=2,
    resolved_at=at(4000),
    handoffs=2,  # timed out, declined
    level_offered_at=((1, at(0.1)), (2, at(300.5))),
    exception_class=None,
    followup_at=at(3920),
    followup_reason="acknowledged 60 min ago, still open",
    last_progress_at=at(4000),
    in_doubt=1,
)


def test_a_lifecycle_gives_the_report_its_times_and_counts() -> None:
    assert fold({}, _facts("e1"))["e1"] == EXPECTED


def test_every_arrival_order_converges_to_the_same_stats() -> None:
    facts = _facts("e1")
    shuffler = random.Random(7)
    seen = set()
    for _ in range(300):
        shuffler.shuffle(facts)
        seen.add(fold({}, facts)["e1"])
    assert seen == {EXPECTED}


def test_facts_split_over_transactions_converge_too() -> None:
    facts = _facts("e1")
    first = fold({}, facts[5:])
    assert fold(first, facts[:5])["e1"] == EXPECTED


def test_the_exception_class_comes_from_the_raised_labels() -> None:
    raised = f.raised("e2")
    event = {**raised.payload["event"], "labels": {"exception": "legal_hold"}}
    fact = Fact(**{**raised.__dict__, "payload": {**raised.payload, "event": event}})
    assert fold({}, [fact])["e2"].exception_class == "legal_hold"


def test_in_doubt_pages_are_listed_with_their_page() -> None:
    [page] = in_doubt_pages(_facts("e1"))
    assert (page.escalation_id, page.recipient, page.channel, page.level) == ("e1", "bob", "sms", 1)
    assert isinstance(page.at, datetime)
