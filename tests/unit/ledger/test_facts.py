"""Turning bus messages into facts: ids, kinds, actors, trace ids, and bodies Postgres refuses."""

from datetime import UTC, datetime

import pytest

from custody import subjects
from custody_ledger.domain.facts import (
    actor_of,
    escalation_id_from_subject,
    jsonb_safe,
    trace_id_of,
    undecodable_fact,
)
from tests.unit.ledger import factories


@pytest.mark.parametrize(
    ("traceparent", "trace_id"),
    [
        (factories.TRACEPARENT, "4bf92f3577b34da6a3ce929d0e0e4736"),
        (
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "4bf92f3577b34da6a3ce929d0e0e4736",
        ),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", None),  # invalid all-zero id
        ("garbage", None),
        ("", None),
        (None, None),
    ],
)
def test_trace_id_of_traceparent(traceparent: str | None, trace_id: str | None) -> None:
    assert trace_id_of(traceparent) == trace_id


@pytest.mark.parametrize(
    ("kind", "payload", "actor"),
    [
        ("acknowledged", {"actor": "bob"}, "bob"),
        ("command", {"actor": "carol"}, "carol"),
        ("raised", {"raised_by": "monitor-1"}, "monitor-1"),
        ("rejected", {"source": "alertmanager"}, "alertmanager"),
        ("routed", {}, "router"),
        ("page_requested", {}, "escalator"),
        ("page_sent", {}, "notifier"),
        ("something_new", {}, "ledger"),
    ],
)
def test_actor_of(kind: str, payload: dict[str, object], actor: str) -> None:
    assert actor_of(kind, payload) == actor


@pytest.mark.parametrize(
    ("stream", "subject", "escalation_id"),
    [
        (subjects.INCIDENTS, "incidents.accepted.esc-1", "esc-1"),
        (subjects.CUSTODY, "custody.offered.esc-2", "esc-2"),
        (subjects.PAGES, "pages.page_sent.esc-3", "esc-3"),
        (subjects.REJECTED, "rejected.alertmanager", ""),  # ends in a source, not an id
        (subjects.DLQ, "dlq.ROUTED.escalator-routed", ""),
    ],
)
def test_escalation_id_from_subject(stream: str, subject: str, escalation_id: str) -> None:
    assert escalation_id_from_subject(stream, subject) == escalation_id


def test_jsonb_safe_cleans_what_postgres_would_refuse() -> None:
    cleaned = jsonb_safe({"a\x00": ["x\x00y", "\ud800", float("inf"), 1.5, None, {"n": 1}]})
    assert cleaned == {"a\ufffd": ["x\ufffdy", "?", "inf", 1.5, None, {"n": 1}]}


def test_a_decoded_message_keeps_its_wire_kind_id_and_trace() -> None:
    fact = factories.raised("esc-9")
    assert (fact.kind, fact.msg_id, fact.escalation_id) == ("raised", "esc-9:raised", "esc-9")
    assert fact.stream == subjects.INCIDENTS
    assert fact.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert fact.payload["event"]["title"] == "checkout-api auth-chain-break"


@pytest.mark.parametrize(
    ("change", "kind"), [("offered", "offered"), ("acknowledged", "acknowledged")]
)
def test_custody_facts_take_the_change_as_kind(change: str, kind: str) -> None:
    fact = factories.custody("e", change, version=1, state="offered", custodian="bob", s=0)
    assert fact.kind == kind


def test_an_undecodable_body_is_kept_as_text_with_its_digest() -> None:
    received = datetime(2026, 1, 1, tzinfo=UTC)
    fact = undecodable_fact(
        b"\x00\xffnot json",
        error="bad",
        msg_id=None,
        stream=subjects.INCIDENTS,
        stream_seq=17,
        subject="incidents.accepted.esc-5",
        received_at=received,
    )
    assert fact.kind == "undecodable"
    assert fact.msg_id == "INCIDENTS:17"
    assert fact.escalation_id == "esc-5"
    assert fact.payload["body"] == "\ufffd\ufffdnot json"
    assert len(fact.payload["body_sha256"]) == 64
    assert fact.occurred_at == received
