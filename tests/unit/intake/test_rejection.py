"""pydantic's errors become stable codes and dotted field paths."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from custody.contracts import IncidentEvent
from custody_intake.domain.rejection import from_validation_errors, redact


def rejection_for(raw: str) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        IncidentEvent.model_validate_json(raw, strict=True)
    r = from_validation_errors(caught.value.errors())
    return r.error_code, r.field


BASE = '"source": "a", "dedup_key": "k", "title": "t", "severity": "red"'


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"source": "a", "dedup_key": "k", "severity": "red"}', ("missing_field", "title")),
        ("{" + BASE + ', "colour": 1}', ("unknown_field", "colour")),
        ("{" + BASE.replace('"t"', '"' + "t" * 201 + '"') + "}", ("too_long", "title")),
        ("{" + BASE.replace('"k"', '""') + "}", ("too_short", "dedup_key")),
        ("{" + BASE.replace('"red"', '"purple"') + "}", ("invalid_choice", "severity")),
        ("{" + BASE + ', "customer_impact": "yes"}', ("wrong_type", "customer_impact")),
        ("{" + BASE + ', "occurred_at": "2026-01-01T00:00:00"}', ("naive_datetime", "occurred_at")),
        ("{" + BASE + ', "occurred_at": "soon"}', ("invalid_datetime", "occurred_at")),
        ("{" + BASE + ', "labels": {"' + "k" * 65 + '": "v"}}', ("too_long", "labels." + "k" * 65)),
        ("{" + BASE + ', "labels": {"k": "' + "v" * 257 + '"}}', ("too_long", "labels.k")),
        (
            "{" + BASE + ', "labels": {' + ", ".join(f'"k{i}": "v"' for i in range(33)) + "}}",
            ("too_many", "labels"),
        ),
        (
            "{" + BASE + ', "proof": {"evidence": [{"label": "x", "url": 3}]}}',
            ("wrong_type", "proof.evidence.0.url"),
        ),
        (
            "{" + BASE + ', "proof": {"thresholds": ["vibes"]}}',
            ("invalid_choice", "proof.thresholds.0"),
        ),
    ],
)
def test_each_field_error_has_a_stable_code_and_path(raw: str, expected: tuple[str, str]) -> None:
    assert rejection_for(raw) == expected


def test_a_pagerduty_routing_key_is_not_kept_in_a_rejected_body() -> None:
    head = '{"routing_key": "cst_monitor_1_secret", "event_action": "trig'
    assert redact(head) == '{"routing_key": "[redacted]", "event_action": "trig'
    assert "secret" not in redact('{"routing_key":"cst_cut_in_the_mid')
