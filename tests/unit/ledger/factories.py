"""Real contract messages for one escalation, turned into ledger facts as the writer would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from custody import subjects
from custody.contracts import (
    CommandIssued,
    CustodyChanged,
    IncidentAccepted,
    IncidentEvent,
    Level,
    Message,
    PageOutcome,
    PageRequested,
    ProofPacket,
    RoutingDecided,
    RoutingExplanation,
    Severity,
    Threshold,
)
from custody_ledger.domain.facts import Fact, fact_from_wire

T0 = datetime(2026, 3, 29, 1, 14, 0, tzinfo=UTC)
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
PROOF = ProofPacket(
    signal="5xx rate 38% on checkout-api",
    diagnosis="JWT signing key rotated; all sessions rejected",
    thresholds=(Threshold.CUSTOMER_IMPACT, Threshold.SLO_AT_RISK),
    proposed_action="roll back key rotation, redeploy",
    reversible=True,
    agent_action="stopped: RED requires a human",
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


Sent = tuple[str, Message]  # (subject, message) as a service would publish it


def fact(sent: Sent) -> Fact:
    subject, message = sent
    return fact_from_wire(
        message.wire(),
        msg_id=message.event_id,
        stream=subjects.stream_for(subject),
        subject=subject,
    )


def raised_message(eid: str, *, by: str = "monitor-1", s: float = 0) -> Sent:
    message = IncidentAccepted(
        event_id=f"{eid}:raised",
        escalation_id=eid,
        occurred_at=at(s),
        traceparent=TRACEPARENT,
        raised_by=by,
        event=IncidentEvent(
            source="monitor-1",
            dedup_key=f"{eid}-key",
            title="checkout-api auth-chain-break",
            severity=Severity.RED,
            customer_impact=True,
            service="checkout",
            proof=PROOF,
        ),
    )
    return subjects.incident_accepted(eid), message


def routed_message(eid: str, *, by: str = "monitor-1", s: float = 0.05) -> Sent:
    message = RoutingDecided(
        event_id=f"{eid}:routed",
        escalation_id=eid,
        occurred_at=at(s),
        traceparent=TRACEPARENT,
        title="checkout-api auth-chain-break",
        severity=Severity.RED,
        customer_impact=True,
        raised_by=by,
        proof=ProofPacket(signal="router copy"),
        team="payments",
        levels=(Level(number=1, recipients=("bob",), wait_s=300.0),),
        last_resort="dave",
        explanation=RoutingExplanation(
            policy_version="p-1",
            rule="checkout",
            team="payments",
            severity_class="red",
            inputs={"service": "checkout"},
            schedule={"primary": "bob"},
            summary="route checkout matched: payments, primary bob",
        ),
    )
    return subjects.routed(eid), message


def custody_message(
    eid: str,
    change: str,
    *,
    version: int,
    state: str,
    custodian: str | None,
    s: float,
    actor: str = "escalator",
    offered_to: tuple[str, ...] = (),
) -> Sent:
    message = CustodyChanged(
        event_id=f"{eid}:custody:{version}",
        escalation_id=eid,
        occurred_at=at(s),
        change=change,  # type: ignore[arg-type]
        state=state,  # type: ignore[arg-type]
        custodian=custodian,
        level=1,
        epoch=1,
        version=version,
        actor=actor,
        offered_to=offered_to,
    )
    return subjects.custody_fact(change, eid), message


def page_message(
    eid: str, *, outcome: str = "page_sent", recipient: str = "bob", s: float = 0.2
) -> Sent:
    message = PageOutcome(
        event_id=f"{eid}:page:{outcome}:{recipient}",
        escalation_id=eid,
        occurred_at=at(s),
        outcome=outcome,  # type: ignore[arg-type]
        page_id=f"{eid}:1:{recipient}:sms:1",
        recipient=recipient,
        channel="sms",
        level=1,
        attempt=1,
    )
    return subjects.page_outcome(outcome, eid), message


def page_requested_message(eid: str, *, recipient: str = "bob", s: float = 0.15) -> Sent:
    message = PageRequested(
        event_id=f"{eid}:page_requested:{recipient}",
        escalation_id=eid,
        occurred_at=at(s),
        page_id=f"{eid}:1:{recipient}:sms:1",
        recipient=recipient,
        channel="sms",
        level=1,
        attempt=1,
        epoch=1,
        title="checkout-api auth-chain-break",
        severity=Severity.RED,
        raised_by="monitor-1",
        detected_at=at(0),
        proof=PROOF,
    )
    return subjects.page_requested(eid), message


def command_message(eid: str, *, actor: str = "bob", action: str = "ack", s: float = 1.0) -> Sent:
    message = CommandIssued(
        event_id=f"{eid}:cmd:{action}:{actor}",
        escalation_id=eid,
        occurred_at=at(s),
        command_id=f"c-{action}",
        action=action,  # type: ignore[arg-type]
        actor=actor,
    )
    return subjects.command(eid), message


def lifecycle_messages(eid: str) -> list[Sent]:
    """raised → routed → offered to bob → paged → bob acks → acknowledged."""
    return [
        raised_message(eid),
        routed_message(eid),
        custody_message(
            eid, "offered", version=1, state="offered", custodian="bob", s=0.1, offered_to=("bob",)
        ),
        page_requested_message(eid),
        page_message(eid),
        command_message(eid),
        custody_message(
            eid, "acknowledged", version=2, state="accepted", custodian="bob", s=1.1, actor="bob"
        ),
    ]


def raised(eid: str, **kw: Any) -> Fact:
    return fact(raised_message(eid, **kw))


def routed(eid: str, **kw: Any) -> Fact:
    return fact(routed_message(eid, **kw))


def custody(eid: str, change: str, **kw: Any) -> Fact:
    return fact(custody_message(eid, change, **kw))


def page(eid: str, **kw: Any) -> Fact:
    return fact(page_message(eid, **kw))


def page_requested(eid: str, **kw: Any) -> Fact:
    return fact(page_requested_message(eid, **kw))


def command(eid: str, **kw: Any) -> Fact:
    return fact(command_message(eid, **kw))


def lifecycle(eid: str) -> list[Fact]:
    return [fact(sent) for sent in lifecycle_messages(eid)]
