"""The one door in: authenticate, validate, then raise or act, or refuse with a reason that is
kept in REJECTED. HTTP and NATS both come through here, so both get exactly the same rules.

Every answer is given only after what it claims is durable: "accepted" after the PubAck of the
incident, "rejected" after the PubAck of the rejection. With the bus away, the answer is
`BusUnavailable` (503, retry) within the time budget, never a claim we cannot back.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from nats.errors import NoRespondersError
from nats.js.errors import NoStreamResponseError, ServiceUnavailableError

from custody.auth import Principal
from custody.bus.publishing import BusUnavailable
from custody_intake.adapters.gateway import ANONYMOUS, Gateway
from custody_intake.domain import alertmanager, pagerduty
from custody_intake.domain.event import check_source, read_event
from custody_intake.domain.json_input import parse_object
from custody_intake.domain.rejection import Refused, Rejection, refuse
from custody_intake.raising import Raised, Raiser

T = TypeVar("T")


@dataclass(frozen=True)
class Request:
    """One delivery of one input, from whichever transport."""

    raw: bytes
    token: str | None
    request_id: str  # unique per delivery: names the rejection fact, if any
    idempotency_key: str | None = None  # the caller's Idempotency-Key, if it sent one
    traceparent: str | None = None
    # HTTP stops storing a body past the limit but still measures and hashes all of it.
    size: int | None = None
    sha256: str | None = None

    @property
    def body_sha256(self) -> str:
        return self.sha256 or hashlib.sha256(self.raw).hexdigest()

    @property
    def idempotency(self) -> str:
        """What makes two deliveries "the same input": the caller's key, else the body."""
        basis = self.idempotency_key.encode() if self.idempotency_key else self.raw
        return hashlib.sha256(basis).hexdigest()


@dataclass
class Caller:
    """Who is asking, once known: the REJECTED subject is named after them."""

    name: str = ""
    principal: Principal | None = field(default=None)


@dataclass(frozen=True)
class Compat:
    """What a PagerDuty or Alertmanager delivery did, per event or alert."""

    dedup_key: str
    escalation_id: str
    action: str  # "raised", "updated", "ack", "resolve"


class Door:
    def __init__(self, gateway: Gateway, raiser: Raiser, budget_s: float) -> None:
        self.gateway = gateway
        self.raiser = raiser
        self.budget_s = budget_s

    async def admit(
        self,
        request: Request,
        work: Callable[[Caller], Awaitable[T]],
        budget_s: float | None = None,
    ) -> T | Rejection:
        """Run `work`; keep and return its refusal, if any. Past the budget: BusUnavailable."""
        caller = Caller()
        budget = budget_s or self.budget_s
        try:
            async with asyncio.timeout(budget):
                try:
                    return await work(caller)
                except Refused as refused:
                    await self.gateway.reject(
                        refused.rejection,
                        source=caller.name,
                        body=request.raw,
                        body_sha256=request.body_sha256,
                        request_id=request.request_id,
                    )
                    return refused.rejection
        except TimeoutError as exc:
            raise BusUnavailable(f"no PubAck within {budget:g}s") from exc
        except (NoRespondersError, NoStreamResponseError, ServiceUnavailableError) as exc:
            # Nothing on the bus answers yet, right after nats-server restarted: a KV direct
            # read before the bucket is loaded (NoRespondersError), a KV write before its
            # stream is (nats-py turns that into NoStreamResponseError), or JetStream itself
            # not ready (503). As unavailable as a time-out.
            raise BusUnavailable("the bus is not answering yet") from exc

    async def authenticate(
        self, token: str | None, caller: Caller, field: str = "authorization"
    ) -> Principal:
        principal = await self.gateway.principal(token) if token else None
        if principal is None:
            raise refuse(401, "unauthorized", field, "unknown, revoked or missing token")
        caller.name, caller.principal = principal.name, principal
        return principal

    async def native(self, request: Request) -> Raised | Rejection:
        """`POST /v1/events` and `intake.events.<source>`."""

        async def work(caller: Caller) -> Raised:
            principal = await self.authenticate(request.token, caller)
            parse_object(request.raw, request.size)
            event = read_event(request.raw)
            check_source(event, principal.name, principal.kind)
            return await self.raiser.raise_event(
                event, principal.name, request.idempotency, request.traceparent
            )

        return await self.admit(request, work)

    async def pagerduty(self, request: Request) -> Compat | Rejection:
        """`POST /v2/enqueue`: the routing key is the agent's token."""

        async def work(caller: Caller) -> Compat:
            # Authenticate as soon as the body parses, so that its refusals name the sender.
            doc = parse_object(request.raw, request.size)
            key = doc.get("routing_key")
            token = key if isinstance(key, str) else None
            principal = await self.authenticate(token, caller, "routing_key")
            event = pagerduty.read(request.raw, doc)
            if isinstance(event, pagerduty.PagerDutyTrigger):
                incident = pagerduty.to_incident(event, principal.name, request.idempotency)
                raised = await self.raiser.raise_event(
                    incident, principal.name, request.idempotency, request.traceparent
                )
                action = "updated" if raised.duplicate else "raised"
                return Compat(incident.dedup_key, raised.escalation_id, action)
            act = pagerduty.to_action(event)
            note = f"{event.event_action} from {principal.name} (PagerDuty Events API)"
            esc = await self.raiser.source_command(
                principal.name, act.dedup_key, act.action, request.idempotency, note
            )
            return Compat(act.dedup_key, esc, act.action)

        return await self.admit(request, work)

    async def alertmanager(self, request: Request) -> list[Compat] | Rejection:
        """`POST /v1/integrations/alertmanager`: every alert of the group, or none of them."""

        async def work(caller: Caller) -> list[Compat]:
            principal = await self.authenticate(request.token, caller)
            parse_object(request.raw, request.size)
            hook = alertmanager.read(request.raw)
            done: list[Compat] = []
            for item in alertmanager.to_actions(hook, principal.name):
                # Per alert: the same delivery carries several, each its own input.
                idempotency = f"{request.idempotency}:{item.index}"
                if isinstance(item, alertmanager.Firing):
                    raised = await self.raiser.raise_event(
                        item.event, principal.name, idempotency, request.traceparent
                    )
                    action = "updated" if raised.duplicate else "raised"
                    done.append(Compat(item.event.dedup_key, raised.escalation_id, action))
                else:
                    note = f"resolved by source ({principal.name}, Alertmanager)"
                    esc = await self.raiser.source_command(
                        principal.name, item.dedup_key, "resolve", idempotency, note
                    )
                    done.append(Compat(item.dedup_key, esc, "resolve"))
            return done

        # A group of alerts is several publishes: its budget grows with the group.
        return await self.admit(request, work, budget_s=self.budget_s * 8)


__all__ = ["ANONYMOUS", "Caller", "Compat", "Door", "Raised", "Request"]
