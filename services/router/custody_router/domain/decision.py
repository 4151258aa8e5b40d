"""The routing fact for one accepted incident: what the router publishes and what
`custody policy explain` prints, built by the same function from the same inputs."""

from __future__ import annotations

from datetime import datetime

from custody.contracts import IncidentAccepted, IncidentEvent, RoutingDecided, Severity
from custody.policy.model import Policy
from custody_router.domain.inputs import RouteInput
from custody_router.domain.routing import route


def decide(
    policy: Policy, version: str, accepted: IncidentAccepted, now: datetime
) -> RoutingDecided:
    """Route `accepted` under `policy` at `now`. The fact's `severity` is the decided class:
    downstream (pages, promotions, follow-ups) works with the class, and the incident's own
    severity stays in `explanation.inputs`."""
    event = accepted.event
    decision = route(policy, version, RouteInput.of(event, accepted.raised_by), now)
    return RoutingDecided(
        event_id=f"routed:{accepted.escalation_id}",
        escalation_id=accepted.escalation_id,
        occurred_at=now,
        traceparent=accepted.traceparent,
        title=event.title,
        severity=Severity(decision.explanation.severity_class),
        customer_impact=event.customer_impact,
        raised_by=accepted.raised_by,
        proof=event.proof,
        team=decision.team,
        levels=decision.levels,
        repeat=decision.repeat,
        last_resort=decision.last_resort,
        explanation=decision.explanation,
        deferred_until=decision.deferred_until,
        defer_reason=decision.defer_reason,
        acceptance_sla_s=decision.acceptance_sla_s,
        substitute=decision.substitute,
        manager=decision.manager,
    )


def what_if(
    policy: Policy, version: str, event_json: bytes, raised_by: str | None, at: datetime
) -> RoutingDecided:
    """`custody policy explain`: the fact the router would publish for this event at `at`.
    The escalation id is a placeholder; nothing is raised."""
    event = IncidentEvent.model_validate_json(event_json)
    accepted = IncidentAccepted(
        event_id="what-if",
        escalation_id="what-if",
        occurred_at=at,
        event=event,
        raised_by=raised_by or event.source,
    )
    return decide(policy, version, accepted, at)
