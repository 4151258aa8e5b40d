"""The claim decision table and the "still offered to this epoch" fence."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custody_notifier.domain.claims import (
    CLAIM_LEASE,
    Claim,
    Decision,
    EscalationNotVisible,
    EscalationUnreadable,
    EscalationView,
    RetryAt,
    SendInProgress,
    claim_key,
    decide,
    decide_for_claim,
    escape_token,
)

from .pages import page

NOW = datetime(2026, 11, 22, 2, 20, tzinfo=UTC)
CLAIMED = Claim(status="claimed", page_id="p1", claimed_at="2026-11-22T02:14:00+00:00")
SENT = Claim(status="sent", page_id="p1", claimed_at="t0", detail="sms provider id x")
FAILED = Claim(status="failed", page_id="p1", claimed_at="t0", detail="sms refused: bad number")
IN_DOUBT = Claim(status="in_doubt", page_id="p1", claimed_at="t0", detail="timeout")
UNREADABLE = Claim.from_json(b"{not json")


@pytest.mark.parametrize(
    ("claim", "escalation", "page_epoch", "send", "outcome"),
    [
        # a claim exists: the escalation is not even consulted, the provider never called
        (SENT, None, 1, False, "page_sent"),
        (SENT, EscalationView("accepted", 2), 1, False, "page_sent"),
        (FAILED, EscalationView("offered", 1), 1, False, "page_failed"),
        (IN_DOUBT, EscalationView("offered", 1), 1, False, "page_in_doubt"),
        # claimed six minutes ago and never finished: the sender died mid-send
        (CLAIMED, EscalationView("offered", 1), 1, False, "page_in_doubt"),
        (CLAIMED, None, 1, False, "page_in_doubt"),
        (UNREADABLE, EscalationView("offered", 1), 1, False, "page_in_doubt"),
        # no claim: only a page for the current offer goes out
        (None, EscalationView("offered", 1), 1, True, None),
        (None, EscalationView("offered", 3), 3, True, None),
        (None, EscalationView("offered", 2), 1, False, "page_skipped"),
        (None, EscalationView("accepted", 1), 1, False, "page_skipped"),
        (None, EscalationView("resolved", 1), 1, False, "page_skipped"),
        (None, EscalationView("deferred", 1), 1, False, "page_skipped"),
        (None, EscalationView("muted", 1), 1, False, "page_skipped"),
        (None, EscalationView("open", 1), 1, False, "page_skipped"),
        (None, EscalationView("accepted", 2), 1, False, "page_skipped"),
    ],
)
def test_decision_table(
    claim: Claim | None,
    escalation: EscalationView | None,
    page_epoch: int,
    send: bool,
    outcome: str | None,
) -> None:
    decision = decide(claim, escalation, page_epoch, NOW)
    assert (decision.send, decision.outcome) == (send, outcome)
    assert decision.reason


def test_a_sent_claim_is_re_announced_with_what_it_recorded() -> None:
    assert decide(SENT, None, 1, NOW) == Decision(False, "page_sent", "sms provider id x")


def test_skip_reasons_say_why() -> None:
    assert "accepted" in decide(None, EscalationView("accepted", 1), 1, NOW).reason
    assert "epoch 2" in decide(None, EscalationView("offered", 2), 1, NOW).reason


@pytest.mark.parametrize(
    "escalation", [None, EscalationView("offered", 1), EscalationView("accepted", 1)]
)
def test_an_escalation_not_yet_visible_at_this_epoch_is_transient(
    escalation: EscalationView | None,
) -> None:
    with pytest.raises(EscalationNotVisible):
        decide(None, escalation, page_epoch=2, now=NOW)


@pytest.mark.parametrize(
    ("age", "in_progress"),
    [
        (timedelta(0), True),
        (timedelta(seconds=-5), True),  # the claimer's clock runs a little ahead of ours
        (CLAIM_LEASE - timedelta(milliseconds=1), True),
        (CLAIM_LEASE, False),
        (timedelta(hours=3), False),
    ],
)
def test_a_fresh_claim_waits_for_its_sender_and_an_expired_one_is_in_doubt(
    age: timedelta, in_progress: bool
) -> None:
    claim = Claim(status="claimed", page_id="p1", claimed_at=(NOW - age).isoformat())
    if in_progress:
        with pytest.raises(SendInProgress):
            decide(claim, EscalationView("offered", 1), 1, NOW)
    else:
        assert decide(claim, EscalationView("offered", 1), 1, NOW).outcome == "page_in_doubt"


@pytest.mark.parametrize("claimed_at", ["", "yesterday", "2026-11-22T02:14:00"])
def test_a_claim_without_a_readable_aware_time_is_in_doubt(claimed_at: str) -> None:
    claim = Claim(status="claimed", page_id="p1", claimed_at=claimed_at)
    assert decide(claim, None, 1, NOW).outcome == "page_in_doubt"


@pytest.mark.parametrize(
    ("raw", "view"),
    [
        (b'{"state": "offered", "epoch": 2, "version": 7}', EscalationView("offered", 2)),
        (b'{"state": "accepted", "epoch": "3"}', EscalationView("accepted", 3)),
    ],
)
def test_escalation_documents_are_read(raw: bytes, view: EscalationView) -> None:
    assert EscalationView.from_json(raw) == view


@pytest.mark.parametrize(
    "raw",
    [
        None,
        b"",
        b"not json",
        b"[]",
        b'{"state": "offered"}',
        b'{"epoch": 1}',
        b'{"state": "offered", "epoch": "one"}',
        b'{"state": "offered", "epoch": true}',
        b'{"state": 1, "epoch": 1}',
    ],
)
def test_unreadable_escalation_documents_are_refused(raw: bytes | None) -> None:
    with pytest.raises(EscalationUnreadable):
        EscalationView.from_json(raw)


def test_claims_round_trip() -> None:
    claim = Claim(
        status="sent",
        page_id="esc-1:1:bob:sms:1",
        claimed_at="t0",
        claimant="host:1:abc",
        finished_at="t1",
        provider_id="sink-1",
        detail="ok",
    )
    assert Claim.from_json(claim.to_json()) == claim


@pytest.mark.parametrize(
    "raw", [None, b"", b"junk", b'{"status": "weird", "page_id": "p"}', b'{"page_id": "p"}']
)
def test_unreadable_claims_are_in_doubt_never_resent(raw: bytes | None) -> None:
    claim = Claim.from_json(raw)
    assert claim.status == "unreadable"
    assert decide(claim, EscalationView("offered", 1), 1, NOW).outcome == "page_in_doubt"


_NATS_KEY = re.compile(r"^[-/_=.a-zA-Z0-9]+$")


def test_claim_key_names_the_unit_of_invariant_5() -> None:
    key = claim_key(page(escalation_id="esc-7f3a", level=2, recipient="bob", channel="sms"))
    assert key == "esc-7f3a.2.bob.sms.1"


def test_claim_key_escapes_what_kv_keys_cannot_hold() -> None:
    key = claim_key(page(escalation_id="esc 7f3a", recipient="björn.x@y", channel="chat"))
    assert key == "esc=207f3a.1.bj=C3=B6rn=2Ex=40y.chat.1"
    assert _NATS_KEY.match(key)


_TOKEN = st.text(max_size=12)


@given(a=_TOKEN, b=_TOKEN)
def test_escaping_is_injective_and_valid(a: str, b: str) -> None:
    ea, eb = escape_token(a), escape_token(b)
    assert _NATS_KEY.match(ea)
    assert "." not in ea
    assert (ea == eb) == (a == b)


@given(recipient=_TOKEN, channel=_TOKEN, escalation_id=_TOKEN)
def test_claim_keys_are_valid_kv_keys(recipient: str, channel: str, escalation_id: str) -> None:
    key = claim_key(page(recipient=recipient, channel=channel, escalation_id=escalation_id))
    assert _NATS_KEY.match(key)
    assert not key.startswith(".")
    assert not key.endswith(".")
    assert ".." not in key


# --- retry and skipped ----------------------------------------------------------------------

RETRY_DUE = Claim(
    status="retry", page_id="p1", claimed_at="t0", retry_at="2026-11-22T02:19:00+00:00"
)
RETRY_LATER = Claim(
    status="retry", page_id="p1", claimed_at="t0", retry_at="2026-11-22T02:20:30+00:00"
)
SKIPPED = Claim(status="skipped", page_id="p1", claimed_at="t0", detail="escalation is accepted")


def test_a_retry_claim_waits_exactly_until_its_retry_at() -> None:
    with pytest.raises(RetryAt) as caught:
        decide(RETRY_LATER, EscalationView("offered", 1), 1, NOW)
    assert caught.value.delay_s == 30.0


def test_a_due_retry_claim_sends_only_while_the_offer_stands() -> None:
    assert decide(RETRY_DUE, EscalationView("offered", 1), 1, NOW).send
    skipped = decide(RETRY_DUE, EscalationView("accepted", 1), 1, NOW)
    assert (skipped.send, skipped.outcome) == (False, "page_skipped")


def test_a_skipped_claim_is_re_announced_as_skipped() -> None:
    assert decide(SKIPPED, EscalationView("offered", 1), 1, NOW) == Decision(
        False, "page_skipped", "escalation is accepted"
    )


def test_new_statuses_survive_a_round_trip() -> None:
    for claim in (RETRY_DUE, SKIPPED):
        assert Claim.from_json(claim.to_json()) == claim


def test_the_lease_is_a_parameter() -> None:
    fresh = Claim(
        status="claimed", page_id="p1", claimed_at=(NOW - timedelta(seconds=2)).isoformat()
    )
    with pytest.raises(SendInProgress):
        decide_for_claim(fresh, NOW, timedelta(seconds=3))
    assert decide_for_claim(fresh, NOW, timedelta(seconds=1)).outcome == "page_in_doubt"
