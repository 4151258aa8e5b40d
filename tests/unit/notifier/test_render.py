"""Page rendering: the DESIGN.md format exactly, the recipient's zone, and clipping that
shortens values but never the structure."""

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.contracts import ProofPacket, Severity
from custody_notifier.domain.render import (
    SMS_FIELD_LINE_MAX,
    SMS_LINES,
    SUBJECT_MAX,
    ack_code,
    render,
)

from .pages import DESIGN_PROOF, page

BASE = "https://custody.example"


def test_sms_page_matches_the_design_example_exactly() -> None:
    rendered = render(page(), timezone="Europe/Stockholm", case_url_base=BASE)

    assert rendered.body == (
        "[CUSTODY:RED] checkout-api auth-chain-break (prod)\n"
        "Incident: esc-7f3a · detected 03:14 Europe/Stockholm\n"
        "Diagnosis: JWT signing key rotated; all sessions rejected\n"
        "Agent action: stopped (RED requires a human)\n"
        "Suggested: roll back key rotation, redeploy\n"
        'Case: https://custody.example/e/esc-7f3a   Ack: reply "ack 7f3a"'
    )
    assert rendered.subject == "[CUSTODY:RED] checkout-api auth-chain-break (prod)"
    assert rendered.ack_code == "7f3a"
    assert rendered.case_url == "https://custody.example/e/esc-7f3a"
    assert (rendered.page_id, rendered.recipient, rendered.channel) == (
        "esc-7f3a:1:bob:sms:1",
        "bob",
        "sms",
    )


@pytest.mark.parametrize(
    ("detected_utc", "timezone", "shown"),
    [
        (datetime(2026, 11, 22, 2, 14, tzinfo=UTC), "Europe/Stockholm", "03:14 Europe/Stockholm"),
        (datetime(2026, 7, 1, 2, 14, tzinfo=UTC), "Europe/Stockholm", "04:14 Europe/Stockholm"),
        (datetime(2026, 11, 22, 2, 14, tzinfo=UTC), "America/New_York", "21:14 America/New_York"),
        # Stockholm springs forward at 01:00 UTC on 2026-03-29: 02:00-03:00 local never exists.
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "Europe/Stockholm", "01:59 Europe/Stockholm"),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "Europe/Stockholm", "03:00 Europe/Stockholm"),
        # ...and falls back at 01:00 UTC on 2026-10-25: 02:30 local happens twice.
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "Europe/Stockholm", "02:30 Europe/Stockholm"),
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "Europe/Stockholm", "02:30 Europe/Stockholm"),
        (datetime(2026, 11, 22, 2, 14, tzinfo=UTC), "Asia/Kolkata", "07:44 Asia/Kolkata"),
        (datetime(2026, 11, 22, 2, 14, tzinfo=UTC), "Not/AZone", "02:14 UTC"),
    ],
)
def test_detected_time_is_shown_in_the_recipients_zone(
    detected_utc: datetime, timezone: str, shown: str
) -> None:
    body = render(page(detected_at=detected_utc), timezone=timezone, case_url_base=BASE).body
    assert body.splitlines()[1] == f"Incident: esc-7f3a · detected {shown}"


@pytest.mark.parametrize(
    ("severity", "prefix"),
    [(Severity.RED, "[CUSTODY:RED] "), (Severity.YELLOW, "[CUSTODY:YELLOW] ")],
)
def test_subject_names_the_severity(severity: Severity, prefix: str) -> None:
    rendered = render(page(severity=severity), timezone="UTC", case_url_base=BASE)
    assert rendered.subject.startswith(prefix)


@pytest.mark.parametrize(
    ("escalation_id", "code"),
    [
        ("esc-7f3a", "7f3a"),
        ("esc-01HV7K9Q", "7k9q"),
        ("7F3A", "7f3a"),
        ("esc-ab", "ab"),
        ("esc-", "esc"),
    ],
)
def test_ack_code_is_the_tail_of_the_escalation_id(escalation_id: str, code: str) -> None:
    assert ack_code(escalation_id) == code


def test_a_long_title_is_clipped_with_an_ellipsis_and_keeps_the_prefix() -> None:
    rendered = render(page(title="x" * 300), timezone="UTC", case_url_base=BASE)
    assert len(rendered.subject) == SUBJECT_MAX
    assert rendered.subject.startswith("[CUSTODY:RED] xxx")
    assert rendered.subject.endswith("…")
    assert rendered.body.splitlines()[0] == rendered.subject


def test_long_fields_are_clipped_but_every_line_stays() -> None:
    proof = ProofPacket(diagnosis="d" * 2000, agent_action="a" * 500, proposed_action="p" * 999)
    lines = render(page(proof=proof), timezone="UTC", case_url_base=BASE).body.splitlines()
    assert len(lines) == SMS_LINES
    assert [line.split(":", 1)[0] for line in lines[1:]] == [
        "Incident",
        "Diagnosis",
        "Agent action",
        "Suggested",
        "Case",
    ]
    for line in lines[2:5]:
        assert len(line) == SMS_FIELD_LINE_MAX
        assert line.endswith("…")


def test_line_breaks_and_controls_inside_values_never_add_lines() -> None:
    proof = ProofPacket(
        diagnosis="first\nsecond\r\nthird\u2028fourth\u0085fifth\x0bsixth",
        agent_action="tab\there\x00nul",
        proposed_action="",
    )
    title = "multi\nline\u2029title"
    body = render(page(title=title, proof=proof), timezone="UTC", case_url_base=BASE).body
    lines = body.splitlines()
    assert len(lines) == SMS_LINES
    assert lines[0] == "[CUSTODY:RED] multi line title"
    assert lines[2] == "Diagnosis: first second third fourth fifth sixth"
    assert lines[3] == "Agent action: tab here nul"
    assert lines[4] == "Suggested: none proposed"


def test_bidi_overrides_are_dropped_so_a_title_cannot_reorder_its_line() -> None:
    title = "\u202egnikcehc\u202c checkout \u2067שלום\u2069"
    subject = render(page(title=title), timezone="UTC", case_url_base=BASE).subject
    assert subject == "[CUSTODY:RED] gnikcehc checkout שלום"


def test_missing_diagnosis_falls_back_to_the_signal() -> None:
    proof = ProofPacket(signal="error rate 98%")
    body = render(page(proof=proof), timezone="UTC", case_url_base=BASE).body
    assert body.splitlines()[2] == "Diagnosis: error rate 98%"
    assert body.splitlines()[3] == "Agent action: none reported"


@pytest.mark.parametrize("channel", ["email", "chat", "webhook"])
def test_full_pages_carry_the_whole_proof_packet_and_the_routing(channel: str) -> None:
    rendered = render(page(channel=channel), timezone="Europe/Stockholm", case_url_base=BASE)
    body = rendered.body
    for expected in (
        "Signal: 401 rate on /checkout jumped from 0.1% to 98% in 2 minutes",
        "  - Grafana: auth errors <https://grafana.example/d/auth>",
        "  - Deploy log",
        "    key rotation job ran 03:12",
        "    all pods reloaded",
        "Diagnosis: JWT signing key rotated; all sessions rejected",
        "Why a human: customer impact, step outside the runbook",
        "Proposed action: roll back key rotation, redeploy",
        "Reversible: yes",
        "Agent action: stopped (RED requires a human)",
        "Runbook: https://runbooks.example/auth",
        "Routing: route checkout → team payments; primary bob (schedule)",
        "Policy version: p-0123456789ab",
        "Detected: 2026-11-22 03:14 Europe/Stockholm (2026-11-22 02:14 UTC)",
        "Raised by: monitor-1",
        f"Paged: bob via {channel} · level 1 · attempt 1",
        "Case: https://custody.example/e/esc-7f3a",
        'Ack: reply "ack 7f3a"',
    ):
        assert expected in body, expected
    assert rendered.subject == "[CUSTODY:RED] checkout-api auth-chain-break (prod)"


def test_a_full_page_says_when_the_action_is_irreversible() -> None:
    proof = DESIGN_PROOF.model_copy(update={"reversible": False})
    body = render(page(channel="email", proof=proof), timezone="UTC", case_url_base=BASE).body
    assert "Reversible: NO" in body


# --- properties ---------------------------------------------------------------------------

_SAMPLES = [
    "👨‍👩‍👧‍👦",
    "🇸🇪🇺🇸",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "👍🏽",
    "שלום עולם",
    "مرحبا بالعالم",
    "e\u0301",
    "\u202e",
    "\n",
    "\u2028",
    "\x00",
    "️",
]
_TEXT = st.lists(st.one_of(st.text(max_size=40), st.sampled_from(_SAMPLES)), max_size=30).map(
    "".join
)


@settings(max_examples=300, deadline=None)
@given(title=_TEXT, diagnosis=_TEXT, action=_TEXT, suggested=_TEXT)
def test_any_text_fits_the_sms_shape(
    title: str, diagnosis: str, action: str, suggested: str
) -> None:
    proof = ProofPacket(
        diagnosis=diagnosis[:2000], agent_action=action[:500], proposed_action=suggested[:1000]
    )
    rendered = render(page(title=title, proof=proof), timezone="Asia/Tehran", case_url_base=BASE)
    lines = rendered.body.split("\n")
    assert len(rendered.subject) <= SUBJECT_MAX
    assert rendered.subject.startswith("[CUSTODY:RED] ")
    assert len(lines) == SMS_LINES
    assert rendered.body.splitlines() == lines  # no hidden line break of any kind
    assert lines[0] == rendered.subject
    assert all(len(line) <= SMS_FIELD_LINE_MAX for line in lines[2:5])
