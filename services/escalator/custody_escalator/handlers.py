"""The escalator's NATS edge: load state, decide, compare-and-set, flush the outbox, ack."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from faststream.nats import NatsBroker

from custody import clock, observability, subjects
from custody.bus.consuming import PermanentError, decode
from custody.bus.publishing import BusUnavailable, publish, publish_raw
from custody.bus.worker import Delivery, subscribe
from custody.contracts import (
    CommandIssued,
    CommandOutcome,
    DeadLettered,
    RoutingDecided,
    TimerDue,
)
from custody.policy.store import PolicyCache
from custody_escalator.adapters.store import Conflict, EscalationStore, OutboxItem, Stored
from custody_escalator.domain import machine
from custody_escalator.domain.dead_letters import on_dead_letter, orphan_route
from custody_escalator.domain.state import Escalation
from custody_escalator.domain.timings import timings_for
from custody_escalator.effects import materialize

log = structlog.get_logger(__name__)

Transition = Callable[[Escalation | None], machine.Step | None]
CAS_ATTEMPTS = 20
COMMAND_GRACE_S = 30.0  # a command may overtake its escalation's routing by this much


class EscalatorHandlers:
    def __init__(self, broker: NatsBroker) -> None:
        self.broker = broker
        self.store: EscalationStore | None = None
        self.policies: PolicyCache | None = None

    async def start(self) -> None:
        self.store = EscalationStore(
            await self.broker.key_value(subjects.KV_ESCALATIONS, declare=False)
        )
        self.policies = PolicyCache(await self.broker.key_value(subjects.KV_POLICY, declare=False))

    def register(self) -> None:
        subscribe(self.broker, subjects.ESCALATOR_ROUTED, self.on_routed, concurrency=8)
        subscribe(self.broker, subjects.ESCALATOR_COMMANDS, self.on_command, concurrency=8)
        subscribe(self.broker, subjects.ESCALATOR_TIMERS, self.on_timer, concurrency=8)
        subscribe(self.broker, subjects.ESCALATOR_DLQ, self.on_dead_letter, concurrency=8)

    async def on_routed(self, msg: Delivery) -> None:
        """Safe under redelivery: an existing escalation is never reopened (KV create)."""
        routed = decode(msg)
        if not isinstance(routed, RoutingDecided):
            raise PermanentError(f"expected RoutingDecided, got {type(routed).__name__}")
        assert self.policies is not None
        # The escalation snapshots the policy version its route was decided under.
        stored = await self.policies.version(routed.explanation.policy_version)
        admins = stored.policy.admins
        timings = timings_for(
            stored.policy, routed.explanation.severity_class, routed.acceptance_sla_s
        )

        def transition(esc: Escalation | None) -> machine.Step | None:
            if esc is not None:
                return None
            return machine.open_escalation(routed, admins, timings, clock.now())

        await self.apply(routed.escalation_id, routed.event_id, transition)

    async def on_timer(self, msg: Delivery) -> None:
        """Safe under redelivery: the epoch fences it, and its id is remembered once applied."""
        due = decode(msg)
        if not isinstance(due, TimerDue):
            raise PermanentError(f"expected TimerDue, got {type(due).__name__}")

        def transition(esc: Escalation | None) -> machine.Step | None:
            if esc is None:
                return None
            return machine.on_timer(esc, due.timer, due.epoch, clock.now())

        await self.apply(due.escalation_id, due.event_id, transition)

    async def on_command(self, msg: Delivery) -> None:
        """Safe under redelivery: the command id is remembered once applied; the answer and
        facts it produced are re-flushed with the same ids, which JetStream deduplicates."""
        cmd = decode(msg)
        if not isinstance(cmd, CommandIssued):
            raise PermanentError(f"expected CommandIssued, got {type(cmd).__name__}")
        assert self.store is not None
        current = await self.store.load(cmd.escalation_id)
        if current.escalation is None:
            age = (clock.now() - cmd.occurred_at).total_seconds()
            if age < COMMAND_GRACE_S:
                raise LookupError(f"{cmd.escalation_id} not open yet")  # transient: nak, retry
            await self._answer_unknown(cmd)
            return

        def transition(esc: Escalation | None) -> machine.Step | None:
            assert esc is not None
            return machine.on_command(esc, cmd, clock.now())

        await self.apply(cmd.escalation_id, cmd.event_id, transition)

    async def on_dead_letter(self, msg: Delivery) -> None:
        """Safe under redelivery: the orphan route has a deterministic id, and the offer to the
        last resort is keyed by the dead letter's id in `applied`."""
        dead = decode(msg)
        if not isinstance(dead, DeadLettered):
            return  # nothing to page about; the ledger keeps it
        assert self.store is not None
        assert self.policies is not None
        current = await self.store.load(dead.escalation_id) if dead.escalation_id else None
        if current is None or current.escalation is None:
            stored = await self.policies.current(clock.monotonic())
            route = orphan_route(dead, stored.policy, stored.version, clock.now())
            await publish(self.broker, subjects.routed(route.escalation_id), route)
            return

        def transition(esc: Escalation | None) -> machine.Step | None:
            return None if esc is None else on_dead_letter(esc, dead, clock.now())

        await self.apply(dead.escalation_id, dead.event_id, transition)

    async def apply(self, escalation_id: str, input_id: str, transition: Transition) -> None:
        """Decide and compare-and-set; on a conflict, reload and decide again."""
        assert self.store is not None
        with structlog.contextvars.bound_contextvars(escalation_id=escalation_id):
            for _ in range(CAS_ATTEMPTS):
                current = await self.store.load(escalation_id)
                if input_id in current.applied:
                    break
                step = transition(current.escalation)
                if step is None:
                    break
                after, decisions = step
                if not decisions and after == current.escalation:
                    break
                updated_from = current.escalation
                items = materialize(current.escalation, after, decisions, clock.now())
                updated = Stored(
                    after,
                    current.revision,
                    [*current.outbox, *items],
                    [*current.applied, input_id],
                )
                try:
                    revision = await self.store.save(updated, after)
                except Conflict:
                    log.info("escalation.cas_conflict")
                    continue
                log.info(
                    "escalation.transition",
                    state=after.state,
                    custodian=after.custodian,
                    epoch=after.epoch,
                    version=after.version,
                )
                current = Stored(after, revision, updated.outbox, updated.applied)
                _observe(before=updated_from, after=after)
                break
            else:
                raise BusUnavailable(f"{escalation_id}: compare-and-set kept conflicting")
            await self.flush(escalation_id, current)

    async def flush(self, escalation_id: str, current: Stored | None = None) -> None:
        """Publish every outbox item, then remove the published ones by compare-and-set.

        Items go out concurrently: consumers never rely on order between messages, and their
        deterministic ids make any repeat harmless. `current` saves a reload when the caller
        has just read or written the document."""
        assert self.store is not None
        if current is None:
            current = await self.store.load(escalation_id)
        if not current.outbox or current.escalation is None:
            return
        acks = await asyncio.gather(*(self._publish(item) for item in current.outbox))
        if any(ack is None for ack in acks):
            raise BusUnavailable(f"{escalation_id}: an outbox publish had no PubAck")
        published = {item.event_id for item in current.outbox}
        for _ in range(CAS_ATTEMPTS):
            remaining = [item for item in current.outbox if item.event_id not in published]
            try:
                await self.store.save(
                    Stored(current.escalation, current.revision, remaining, current.applied),
                    current.escalation,
                )
                return
            except Conflict:
                current = await self.store.load(escalation_id)
                if current.escalation is None:
                    return

    async def _publish(self, item: OutboxItem) -> object:
        return await publish_raw(
            self.broker, item.subject, item.payload.encode(), dict(item.headers), timeout_s=5.0
        )

    async def _answer_unknown(self, cmd: CommandIssued) -> None:
        outcome = CommandOutcome(
            event_id=f"outcome:{cmd.command_id}",
            escalation_id=cmd.escalation_id,
            occurred_at=clock.now(),
            command_id=cmd.command_id,
            action=cmd.action,
            actor=cmd.actor,
            accepted=False,
            error_code="not_found",
            message=f"no escalation {cmd.escalation_id}",
            state="open",
            custodian=None,
        )
        await publish(self.broker, subjects.command_outcome(cmd.escalation_id), outcome)


def _observe(before: Escalation | None, after: Escalation) -> None:
    if before is None or before.state != after.state:
        observability.ESCALATIONS.labels(state=after.state).inc()
    if after.state == "accepted" and (before is None or before.state != "accepted"):
        waited = (clock.now() - after.detected_at).total_seconds()
        observability.TIME_TO_ACK.labels(severity=after.severity.value).observe(max(waited, 0.0))
