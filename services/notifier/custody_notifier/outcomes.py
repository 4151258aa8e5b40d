"""Announcing what happened to a page: one PageOutcome fact under a deterministic event id
(`<outcome>:<page id>`), so a re-announcement after a redelivery is deduplicated by JetStream."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from custody import clock, subjects
from custody.bus.publishing import publish
from custody.contracts import PageOutcome
from custody.contracts.facts import PageOutcomeKind

if TYPE_CHECKING:
    from faststream.nats import NatsBroker

log = structlog.get_logger(__name__)


async def announce(
    broker: NatsBroker,
    *,
    outcome: PageOutcomeKind,
    escalation_id: str,
    page_id: str,
    recipient: str,
    channel: str,
    level: int,
    attempt: int,
    reason: str,
    traceparent: str | None = None,
    tracestate: str | None = None,
) -> PageOutcome:
    fact = PageOutcome(
        event_id=f"{outcome}:{page_id}",
        escalation_id=escalation_id,
        occurred_at=clock.now(),
        traceparent=traceparent,
        tracestate=tracestate,
        outcome=outcome,
        page_id=page_id,
        recipient=recipient,
        channel=channel,
        level=level,
        attempt=attempt,
        detail=reason[:2000],
    )
    subject = subjects.page_outcome(outcome.removeprefix("page_"), escalation_id)
    await publish(broker, subject, fact)
    log.info(
        "page.outcome",
        outcome=outcome,
        page_id=page_id,
        channel=channel,
        recipient=recipient,
        level=level,
        attempt=attempt,
        reason=reason,
    )
    return fact
