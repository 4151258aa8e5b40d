"""Raising a validated event: open, reopen or update its escalation, durably, exactly once.

Why this is safe under concurrency and retries:
- opening publishes `incident:<esc>` as its Nats-Msg-Id, so of any number of racing or retried
  publishes for one escalation JetStream keeps exactly one; the rest learn `duplicate`;
- reopening after a resolve bumps the key's generation by compare-and-set in KV `dedup`, so
  exactly one racer names the new escalation and the others find it on their retry;
- a sighting while open is `IncidentSeenAgain` on `incidents.seen.<esc>` (never routed), with
  an id derived from the input, so a retry of the same input is dropped, and the number of
  messages on that subject is the "seen again" count.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from opentelemetry import propagate, trace

from custody import clock, subjects
from custody.bus.publishing import BusUnavailable
from custody.contracts import CommandIssued, IncidentAccepted, IncidentEvent, IncidentSeenAgain
from custody.contracts.facts import CommandAction
from custody_intake.adapters.dedup_store import DedupStore
from custody_intake.adapters.gateway import Gateway
from custody_intake.domain import dedup
from custody_intake.domain.identity import (
    command_event_id,
    incident_event_id,
    seen_again_event_id,
    source_command_id,
)

log = structlog.get_logger(__name__)
tracer = trace.get_tracer("custody.intake")
CAS_ATTEMPTS = 20


@dataclass(frozen=True)
class Raised:
    escalation_id: str
    duplicate: bool
    seen_count: int = 0


class Raiser:
    def __init__(self, gateway: Gateway, store: DedupStore) -> None:
        self.gateway = gateway
        self.store = store

    async def raise_event(
        self, event: IncidentEvent, raised_by: str, idempotency: str, traceparent: str | None
    ) -> Raised:
        """Returns only once the incident (or the sighting) is durable in INCIDENTS."""
        for _ in range(CAS_ATTEMPTS):
            record, revision = await self.store.load(event.source, event.dedup_key)
            now_record = dedup.current(record, event.source, event.dedup_key)
            state = await self.store.state_of(now_record.escalation_id)
            if dedup.reopens(state):
                reopened = dedup.next_generation(now_record, idempotency)
                if not await self.store.write(reopened, revision):
                    continue  # another input reopened first: decide again
                log.info("intake.reopened", escalation_id=reopened.escalation_id)
                now_record, state, revision = reopened, None, None
            esc = now_record.escalation_id
            # Not yet routed (or never published, if an earlier attempt died before its
            # PubAck): publishing the opening again is harmless, JetStream keeps one.
            if state is None and not await self.open(
                esc, event, raised_by, idempotency, traceparent
            ):
                if now_record.opened_by is None:
                    await self._remember_opener(now_record, revision, idempotency)
                return Raised(esc, False)
            if dedup.is_retry_of_opener(now_record, idempotency):
                return Raised(
                    esc, True, await self.gateway.count(subjects.incident_seen_again(esc))
                )
            return await self._seen_again(esc, event, idempotency, traceparent)
        raise BusUnavailable(f"dedup record of {event.dedup_key!r} kept changing; retry")

    async def _remember_opener(
        self, record: dedup.DedupRecord, revision: int | None, idempotency: str
    ) -> None:
        """Best effort: lost in a race, the worst case is that a retry racing its own original
        is counted as one sighting."""
        opened = dedup.DedupRecord(
            record.source, record.dedup_key, record.generation, record.escalation_id, idempotency
        )
        if not await self.store.write(opened, revision):
            log.info("intake.opener_not_recorded", escalation_id=record.escalation_id)

    async def open(
        self,
        esc: str,
        event: IncidentEvent,
        raised_by: str,
        idempotency: str,
        traceparent: str | None,
    ) -> bool:
        """Publish the opening of `esc`. True when JetStream already had it."""
        with tracer.start_as_current_span(
            "intake.accept", attributes={"custody.escalation_id": esc}
        ):
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            accepted = IncidentAccepted(
                event_id=incident_event_id(esc),
                escalation_id=esc,
                occurred_at=event.occurred_at or clock.now(),
                traceparent=traceparent or carrier.get("traceparent"),
                event=event,
                raised_by=raised_by,
            )
            existed = await self.gateway.accept(subjects.incident_accepted(esc), accepted)
            log.info(
                "incident.accepted",
                escalation_id=esc,
                source=event.source,
                severity=event.severity.value,
                raised_by=raised_by,
                already_open=existed,
            )
            return existed

    async def _seen_again(
        self, esc: str, event: IncidentEvent, idempotency: str, traceparent: str | None
    ) -> Raised:
        seen = IncidentSeenAgain(
            event_id=seen_again_event_id(esc, idempotency),
            escalation_id=esc,
            occurred_at=event.occurred_at or clock.now(),
            traceparent=traceparent,
            source=event.source,
            dedup_key=event.dedup_key,
            proof=event.proof,
        )
        subject = subjects.incident_seen_again(esc)
        await self.gateway.accept(subject, seen)
        # The count is the stream's: one message per distinct input (retries are dropped as
        # duplicates), so no shared counter is written, and racing senders never conflict.
        return Raised(esc, True, await self.gateway.count(subject))

    async def current_escalation(self, source: str, dedup_key: str) -> str:
        record, _ = await self.store.load(source, dedup_key)
        return dedup.current(record, source, dedup_key).escalation_id

    async def source_command(
        self, source: str, dedup_key: str, action: CommandAction, idempotency: str, note: str
    ) -> str:
        """Acknowledge or resolve the current escalation of (source, dedup_key) as its source
        (PagerDuty acknowledge/resolve, Alertmanager resolved, a recovered heartbeat)."""
        esc = await self.current_escalation(source, dedup_key)
        await self.command_as_source(
            esc, source, action, source_command_id(esc, action, idempotency), note
        )
        return esc

    async def command_as_source(
        self, esc: str, source: str, action: CommandAction, command_id: str, note: str
    ) -> None:
        cmd = CommandIssued(
            event_id=command_event_id(command_id),
            escalation_id=esc,
            occurred_at=clock.now(),
            command_id=command_id,
            action=action,
            actor=source,
            note=note,
            via="source",
        )
        await self.gateway.accept(subjects.command(esc), cmd)
