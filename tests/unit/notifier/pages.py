"""A PageRequested builder for the notifier's unit tests: the DESIGN.md example by default."""

from datetime import UTC, datetime
from typing import Any

from custody.contracts import Evidence, PageRequested, ProofPacket, Severity, Threshold

DESIGN_PROOF = ProofPacket(
    signal="401 rate on /checkout jumped from 0.1% to 98% in 2 minutes",
    evidence=(
        Evidence(label="Grafana: auth errors", url="https://grafana.example/d/auth"),
        Evidence(label="Deploy log", excerpt="key rotation job ran 03:12\nall pods reloaded"),
    ),
    diagnosis="JWT signing key rotated; all sessions rejected",
    thresholds=(Threshold.CUSTOMER_IMPACT, Threshold.OUTSIDE_RUNBOOK),
    proposed_action="roll back key rotation, redeploy",
    reversible=True,
    agent_action="stopped (RED requires a human)",
    runbook_url="https://runbooks.example/auth",
)


def page(**overrides: Any) -> PageRequested:
    fields: dict[str, Any] = {
        "event_id": "page_requested:esc-7f3a:1:bob:sms:1",
        "escalation_id": "esc-7f3a",
        "occurred_at": datetime(2026, 11, 22, 2, 14, 30, tzinfo=UTC),
        "page_id": "esc-7f3a:1:bob:sms:1",
        "recipient": "bob",
        "channel": "sms",
        "level": 1,
        "attempt": 1,
        "epoch": 1,
        "title": "checkout-api auth-chain-break (prod)",
        "severity": Severity.RED,
        "raised_by": "monitor-1",
        "detected_at": datetime(2026, 11, 22, 2, 14, tzinfo=UTC),  # 03:14 in Stockholm
        "proof": DESIGN_PROOF,
        "routing_summary": "route checkout → team payments; primary bob (schedule)",
        "policy_version": "p-0123456789ab",
    }
    fields.update(overrides)
    return PageRequested(**fields)
