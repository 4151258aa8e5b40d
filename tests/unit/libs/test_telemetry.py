"""Which escalation a message belongs to, for span attributes and log lines."""

from __future__ import annotations

import pytest

from custody.telemetry import escalation_fields


@pytest.mark.parametrize(
    ("body", "subject", "expected"),
    [
        (
            b'{"escalation_id": "esc-0123456789ab", "severity": "red", "level": 2}',
            "",
            {"escalation_id": "esc-0123456789ab", "severity": "red", "level": 2},
        ),
        (
            b'{"escalation_id": "esc-0123456789ab", "event": {"severity": "yellow"}}',
            "",
            {"escalation_id": "esc-0123456789ab", "severity": "yellow"},
        ),
        (b"", "timers.due.esc-0123456789ab.level", {"escalation_id": "esc-0123456789ab"}),
        (b"not json", "pages.requested.esc-aaaaaaaaaaaa", {"escalation_id": "esc-aaaaaaaaaaaa"}),
        (b'{"escalation_id": ""}', "rejected.monitor-1", {}),
    ],
)
def test_escalation_fields(body: bytes, subject: str, expected: dict[str, object]) -> None:
    assert escalation_fields(body, subject) == expected
