"""What the web inbox says in words: ages, custody phrases, refusals, severity classes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custody_ledger.web.wording import age, custody_phrase, refusal_text, severity_class

T0 = datetime(2026, 3, 29, 1, 14, tzinfo=UTC)


@pytest.mark.parametrize(
    ("elapsed", "shown"),
    [
        (timedelta(seconds=0), "0s"),
        (timedelta(seconds=59), "59s"),
        (timedelta(minutes=12, seconds=5), "12m"),
        (timedelta(hours=3, minutes=5), "3h 05m"),
        (timedelta(days=2, hours=4, minutes=1), "2d 4h"),
        (timedelta(seconds=-5), "0s"),  # clock skew never shows a negative age
    ],
)
def test_age_is_short_enough_for_a_phone_row(elapsed: timedelta, shown: str) -> None:
    assert age(T0, T0 + elapsed) == shown


def test_age_of_an_unknown_start_is_a_question_mark() -> None:
    assert age(None, T0) == "?"


@pytest.mark.parametrize(
    ("state", "custodian", "phrase"),
    [
        ("open", None, "open: being routed"),
        ("offered", "bob", "offered to bob"),
        ("accepted", "bob", "held by bob"),
        ("muted", "dave", "muted (fallback: dave)"),
        ("resolved", "bob", "resolved by bob"),
    ],
)
def test_custody_phrase_names_who_has_it(state: str, custodian: str | None, phrase: str) -> None:
    assert custody_phrase(state, custodian) == phrase


def test_resolved_names_who_resolved_it_not_who_held_it() -> None:
    timeline = [
        {"kind": "acknowledged", "actor": "bob"},
        {"kind": "resolved", "actor": "dave"},
    ]
    assert custody_phrase("resolved", "bob", timeline) == "resolved by dave"


def test_not_custodian_refusal_says_so_plainly() -> None:
    text = refusal_text(403, {"error_code": "not_custodian", "message": "it is carol"})
    assert text == "Refused: you are not the custodian of this escalation. it is carol"


def test_intake_down_says_nothing_was_done() -> None:
    assert "nothing was done" in refusal_text(503, {})


@pytest.mark.parametrize(
    ("severity", "css"),
    [("red", "sev-red"), ("green", "sev-green"), (None, "sev-none"), ("x", "sev-none")],
)
def test_unknown_severity_gets_a_neutral_badge(severity: str | None, css: str) -> None:
    assert severity_class(severity) == css
