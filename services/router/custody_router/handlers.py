"""The router's NATS edge: load the incident, decide the route, publish it, ack."""

from __future__ import annotations

import structlog
from faststream.nats import NatsBroker

from custody import clock, subjects
from custody.bus.consuming import PermanentError, decode
from custody.bus.publishing import publish
from custody.bus.worker import Delivery, subscribe
from custody.contracts import IncidentAccepted
from custody.policy.store import PolicyCache
from custody_router.domain.decision import decide

log = structlog.get_logger(__name__)


class RouterHandlers:
    def __init__(self, broker: NatsBroker) -> None:
        self.broker = broker
        self.policies: PolicyCache | None = None

    async def start(self) -> None:
        kv = await self.broker.key_value(subjects.KV_POLICY, declare=False)
        self.policies = PolicyCache(kv)

    def register(self) -> None:
        subscribe(self.broker, subjects.ROUTER_INCIDENTS, self.route, concurrency=8)

    async def route(self, msg: Delivery) -> None:
        """Safe under redelivery: the decision's id is `routed:<escalation>`, so JetStream
        drops a second publish, and the escalator ignores a route for an open escalation.
        The current policy version is read here, once: the fact carries it, and with it the
        resolved chain, so the escalation keeps that snapshot whatever is applied later."""
        accepted = decode(msg)
        if not isinstance(accepted, IncidentAccepted):
            raise PermanentError(f"router got {type(accepted).__name__}, not IncidentAccepted")
        assert self.policies is not None
        with structlog.contextvars.bound_contextvars(escalation_id=accepted.escalation_id):
            stored = await self.policies.current(clock.monotonic())
            fact = decide(stored.policy, stored.version, accepted, clock.now())
            await publish(self.broker, subjects.routed(accepted.escalation_id), fact)
            log.info(
                "incident.routed",
                rule=fact.explanation.rule,
                team=fact.team,
                policy_version=stored.version,
                disposition=fact.explanation.disposition,
                custodian=fact.levels[0].recipients[0],
            )
