"""A dead-lettered message never parks an escalation: its owner of last resort is paged."""

from __future__ import annotations

import hashlib
from datetime import datetime

from custody.contracts import (
    DeadLettered,
    Level,
    ProofPacket,
    RoutingDecided,
    RoutingExplanation,
    Severity,
)
from custody.policy import Policy
from custody_escalator.domain.decisions import Record
from custody_escalator.domain.offers import Step, bump, offer
from custody_escalator.domain.state import Escalation

WAIT_S = 15 * 60.0


def on_dead_letter(esc: Escalation, dead: DeadLettered, now: datetime) -> Step:
    """Offer custody to the owner of last resort, with the reason, unless a person already
    holds it or it is finished (then the reason is only recorded)."""
    reason = f"dead-lettered at {dead.consumer}: {dead.reason}"[:500]
    if esc.state in ("accepted", "resolved"):
        return bump(esc), [Record("note", "system", reason=reason)]
    return offer(
        esc, esc.level_index, esc.round, esc.last_resort, now, actor="system", reason=reason
    )


def orphan_escalation_id(dead: DeadLettered) -> str:
    digest = hashlib.sha256(f"dlq:{dead.event_id}".encode()).hexdigest()[:12]
    return dead.escalation_id or f"esc-{digest}"


def last_resort_of(policy: Policy) -> tuple[str, str]:
    """(team, owner of last resort) for something no route ever saw."""
    team_id = policy.default_team or sorted(policy.teams)[0]
    return team_id, policy.teams[team_id].last_resort


def orphan_route(dead: DeadLettered, policy: Policy, version: str, now: datetime) -> RoutingDecided:
    """A dead letter with no escalation yet (it died before the escalator saw it) becomes a RED
    escalation for the owner of last resort, opened through the escalator's routed path."""
    escalation_id = orphan_escalation_id(dead)
    team, owner = last_resort_of(policy)
    reason = f"dead-lettered at {dead.consumer}: {dead.reason}"
    return RoutingDecided(
        event_id=f"routed:{escalation_id}",
        escalation_id=escalation_id,
        occurred_at=now,
        title=f"dead-lettered message needs a human ({dead.consumer})",
        severity=Severity.RED,
        customer_impact=False,
        raised_by="custody",
        proof=ProofPacket(
            signal=f"{dead.subject} (stream {dead.stream}, seq {dead.stream_seq})",
            diagnosis=reason[:2000],
            agent_action="custody stopped retrying: the message could not be processed",
            proposed_action="inspect the message in the DLQ stream, fix, and re-raise",
        ),
        team=team,
        levels=(Level(number=1, recipients=(owner,), wait_s=WAIT_S, why="owner of last resort"),),
        last_resort=owner,
        explanation=RoutingExplanation(
            policy_version=version,
            rule="(dead letter)",
            team=team,
            severity_class="red",
            inputs={"dlq_event": dead.event_id},
            schedule={},
            summary=f"dead letter → owner of last resort {owner}",
        ),
        meta_of=escalation_id,
    )
