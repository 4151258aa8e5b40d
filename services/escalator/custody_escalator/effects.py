"""Turn domain decisions into the exact messages to publish, each with a deterministic id."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from custody import subjects
from custody.bus.publishing import headers_for
from custody.contracts import (
    CommandOutcome,
    CustodyChanged,
    Level,
    Message,
    PageRequested,
    RoutingDecided,
    RoutingExplanation,
    Severity,
    TimerDue,
)
from custody_escalator.adapters.store import OutboxItem
from custody_escalator.domain.decisions import (
    Answer,
    ArmTimer,
    CancelTimer,
    Decision,
    Page,
    RaiseMeta,
    Record,
)
from custody_escalator.domain.state import Escalation

TIMER_RECORD_TTL = "24h"  # fired and cancel records expire by per-message TTL, never by max_age


def materialize(
    before: Escalation | None, after: Escalation, decisions: list[Decision], now: datetime
) -> list[OutboxItem]:
    """Records get consecutive versions ending at `after.version`."""
    records = [d for d in decisions if isinstance(d, Record)]
    version = after.version - len(records)
    items: list[OutboxItem] = []
    esc_id = after.escalation_id
    for decision in decisions:
        if isinstance(decision, Record):
            version += 1
            fact = CustodyChanged(
                event_id=f"{esc_id}:v{version}:{decision.change}",
                escalation_id=esc_id,
                occurred_at=now,
                traceparent=after.traceparent,
                change=decision.change,
                state=after.state,
                custodian=after.custodian,
                level=after.level.number,
                epoch=after.epoch,
                version=version,
                actor=decision.actor,
                reason=decision.reason,
                note=decision.note,
                title=after.title,
                severity=after.severity,
                raised_by=after.raised_by,
                offered_to=after.people,
            )
            items.append(_item(subjects.custody_fact(decision.change, esc_id), fact))
        elif isinstance(decision, Page):
            page_id = decision.page_id(esc_id)
            page = PageRequested(
                event_id=f"page:{page_id}",
                escalation_id=esc_id,
                occurred_at=now,
                traceparent=after.traceparent,
                page_id=page_id,
                recipient=decision.recipient,
                channel=decision.channel,
                level=decision.level,
                attempt=decision.attempt,
                epoch=after.epoch,
                title=after.title,
                severity=after.severity,
                raised_by=after.raised_by,
                detected_at=after.detected_at,
                proof=after.proof,
                routing_summary=after.routing_summary,
                policy_version=after.policy_version,
            )
            items.append(_item(subjects.page_requested(esc_id), page))
        elif isinstance(decision, ArmTimer):
            items.append(_arm(after, decision, now))
        elif isinstance(decision, CancelTimer):
            items.append(_cancel(after, decision))
        elif isinstance(decision, RaiseMeta):
            meta = meta_incident(after, decision, now)
            items.append(_item(subjects.routed(meta.escalation_id), meta))
        elif isinstance(decision, Answer):
            outcome = CommandOutcome(
                event_id=f"outcome:{decision.command_id}",
                escalation_id=esc_id,
                occurred_at=now,
                traceparent=after.traceparent,
                command_id=decision.command_id,
                action=decision.action,
                actor=decision.actor,
                accepted=decision.accepted,
                error_code=decision.error_code,
                message=decision.message,
                state=after.state,
                custodian=after.custodian,
            )
            items.append(_item(subjects.command_outcome(esc_id), outcome))
    return items


META_WAIT_S = 15 * 60.0


def meta_incident(esc: Escalation, meta: RaiseMeta, now: datetime) -> RoutingDecided:
    """A RED meta-incident straight to the owner of last resort. It goes through the
    escalator's own routed consumer, so it is opened, paged and recorded like any other;
    `meta_of` stops it from ever raising a meta-incident of its own."""
    digest = hashlib.sha256(f"meta:{esc.escalation_id}".encode()).hexdigest()[:12]
    meta_id = f"esc-{digest}"
    return RoutingDecided(
        event_id=f"routed:{meta_id}",
        escalation_id=meta_id,
        occurred_at=now,
        traceparent=esc.traceparent,
        title=meta.title,
        severity=Severity.RED,
        customer_impact=False,
        raised_by="custody",
        proof=esc.proof.model_copy(update={"agent_action": f"custody muted paging: {meta.reason}"}),
        team=esc.team,
        levels=(
            Level(
                number=1,
                recipients=(esc.last_resort,),
                wait_s=META_WAIT_S,
                why="owner of last resort",
            ),
        ),
        repeat=0,
        last_resort=esc.last_resort,
        explanation=RoutingExplanation(
            policy_version=esc.policy_version,
            rule="(meta-incident)",
            team=esc.team,
            severity_class="red",
            inputs={"meta_of": esc.escalation_id},
            schedule={},
            summary=f"meta-incident for {esc.escalation_id}: {meta.reason}",
        ),
        meta_of=esc.escalation_id,
    )


def _item(subject: str, message: Message, extra: dict[str, str] | None = None) -> OutboxItem:
    return OutboxItem(
        subject=subject,
        type_name=type(message).__name__,
        event_id=message.event_id,
        payload=message.model_dump_json(),
        headers=headers_for(message, extra),
    )


def schedule_time(due_at: datetime) -> str:
    """RFC 3339 UTC at whole seconds, rounded up so a timer never fires early."""
    utc = due_at.astimezone(UTC)
    whole = utc.replace(microsecond=0)
    if utc.microsecond:
        whole += timedelta(seconds=1)
    return whole.strftime("%Y-%m-%dT%H:%M:%SZ")


def _arm(esc: Escalation, arm: ArmTimer, now: datetime) -> OutboxItem:
    body = TimerDue(
        # The due time is part of the id: a re-armed timer (follow-ups) is a new input.
        event_id=f"timer:{esc.escalation_id}:{arm.timer}:{esc.epoch}:{int(arm.due_at.timestamp())}",
        escalation_id=esc.escalation_id,
        occurred_at=now,
        traceparent=esc.traceparent,
        timer=arm.timer,
        epoch=esc.epoch,
        due_at=arm.due_at,
    )
    extra = {
        "Nats-Schedule": f"@at {schedule_time(arm.due_at)}",
        "Nats-Schedule-Target": subjects.timer_due(esc.escalation_id, arm.timer),
        "Nats-Schedule-TTL": TIMER_RECORD_TTL,
        "Custody-Epoch": str(esc.epoch),
    }
    item = _item(subjects.timer_schedule(esc.escalation_id, arm.timer), body, extra)
    return item


def _cancel(esc: Escalation, cancel: CancelTimer) -> OutboxItem:
    """Atomic cancel: a purge record naming the schedule (notes/jetstream.md). The due handler
    still checks the epoch, because a timer can fire in the instant before the purge lands."""
    event_id = f"cancel:{esc.escalation_id}:{cancel.timer}:{esc.epoch}"
    headers = {
        "Nats-Msg-Id": event_id,
        "Nats-Schedule-Next": "purge",
        "Nats-Scheduler": subjects.timer_schedule(esc.escalation_id, cancel.timer),
        "Nats-TTL": TIMER_RECORD_TTL,
    }
    return OutboxItem(
        subject=subjects.timer_cancel(esc.escalation_id, cancel.timer),
        type_name="",
        event_id=event_id,
        payload="",
        headers=headers,
    )
