"""The router's NATS edge: load the incident, decide the route, publish it, ack."""

from __future__ import annotations

import structlog
from faststream.nats import NatsBroker
from faststream.nats.message import NatsMessage

from custody import clock, subjects
from custody.bus.consuming import PermanentError, decode, subscribe
from custody.bus.publishing import publish
from custody.contracts import IncidentAccepted, RoutingDecided
from custody.policy.store import PolicyCache
from custody_router.domain.routing import RouteInput, route

log = structlog.get_logger(__name__)


class RouterHandlers:
    def __init__(self, broker: NatsBroker) -> None:
        self.broker = broker
        self.policies: PolicyCache | None = None

    async def start(self) -> None:
        kv = await self.broker.key_value(subjects.KV_POLICY, declare=False)
        self.policies = PolicyCache(kv)

    def register(self) -> None:
        subscribe(self.broker, subjects.ROUTER_INCIDENTS, self.route, batch_size=8)

    async def route(self, msg: NatsMessage) -> None:
        """Safe under redelivery: the decision's id is `routed:<escalation>`, so JetStream
        drops a second publish, and the escalator ignores a route for an open escalation."""
        accepted = decode(msg)
        if not isinstance(accepted, IncidentAccepted):
            raise PermanentError(f"router got {type(accepted).__name__}, not IncidentAccepted")
        assert self.policies is not None
        with structlog.contextvars.bound_contextvars(escalation_id=accepted.escalation_id):
            stored = await self.policies.current(clock.monotonic())
            event = accepted.event
            now = clock.now()
            decision = route(
                stored.policy,
                stored.version,
                RouteInput(
                    source=event.source,
                    service=event.service,
                    labels=dict(event.labels),
                    severity=event.severity.value,
                    customer_impact=event.customer_impact,
                    raised_by=accepted.raised_by,
                ),
                now,
            )
            fact = RoutingDecided(
                event_id=f"routed:{accepted.escalation_id}",
                escalation_id=accepted.escalation_id,
                occurred_at=now,
                traceparent=accepted.traceparent,
                title=event.title,
                severity=event.severity,
                customer_impact=event.customer_impact,
                raised_by=accepted.raised_by,
                proof=event.proof,
                team=decision.team,
                levels=decision.levels,
                repeat=decision.repeat,
                last_resort=decision.last_resort,
                explanation=decision.explanation,
            )
            await publish(self.broker, subjects.routed(accepted.escalation_id), fact)
            log.info("incident.routed", rule=decision.explanation.rule, team=decision.team)
