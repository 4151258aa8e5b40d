"""The routing decision: classify, find who (route, exception owner or last resort), check
the custodian's quiet hours, decide offer/defer/digest, and write down why.

Deterministic for (policy, version, event, now): `custody policy explain` runs this very
function, so a what-if and the live router cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from custody.contracts import Level, RoutingExplanation
from custody.policy.model import Policy, Team
from custody_router.domain.chain import fallback_custodian
from custody_router.domain.disposition import Disposition, Outcome, dispose
from custody_router.domain.inputs import RouteInput
from custody_router.domain.paths import Path, find_path, match_route
from custody_router.domain.quiet_hours import QuietState, quiet_state
from custody_router.domain.schedule import resolve_layer
from custody_router.domain.severity import Classification, classify

__all__ = ["Decision", "RouteInput", "fallback_custodian", "match_route", "route"]


@dataclass(frozen=True)
class Decision:
    team: str
    levels: tuple[Level, ...]
    repeat: int
    last_resort: str
    explanation: RoutingExplanation
    disposition: Disposition = "offer"
    reason: str = ""
    deferred_until: datetime | None = None
    acceptance_sla_s: float | None = None
    substitute: str | None = None
    manager: str | None = None

    @property
    def custodian(self) -> str:
        """The one candidate custodian: level 1's first recipient (never the raiser)."""
        return self.levels[0].recipients[0]

    @property
    def defer_reason(self) -> str:
        return self.reason if self.disposition == "defer" else ""


def route(policy: Policy, version: str, event: RouteInput, now: datetime) -> Decision:
    klass = classify(policy, event)
    plan = policy.severity[klass.klass]
    path = find_path(policy, event, plan, now)
    team = policy.teams[path.team]
    custodian = path.levels[0].recipients[0]
    quiet = quiet_state(custodian, policy.people[custodian], now)
    outcome = dispose(klass, quiet)
    return Decision(
        team=path.team,
        levels=path.levels,
        repeat=path.repeat,
        last_resort=fallback_custodian(policy, team, event.raised_by),
        explanation=_explanation(version, event, now, klass, path, quiet, outcome),
        disposition=outcome.disposition,
        reason=outcome.reason,
        deferred_until=outcome.deferred_until,
        acceptance_sla_s=path.acceptance_sla_s,
        substitute=_substitute(team, event.raised_by, custodian, now),
        manager=team.manager if team.manager != event.raised_by else None,
    )


def _substitute(team: Team, raiser: str, custodian: str, now: datetime) -> str | None:
    """Who takes custody when the acceptance SLA is breached: the team's named substitute,
    else the secondary on call; never the raiser, never the custodian it replaces."""
    secondary = resolve_layer(team.schedule, "secondary", now).person
    for candidate in (team.substitute, secondary):
        if candidate is not None and candidate not in (raiser, custodian):
            return candidate
    return None


def _explanation(
    version: str,
    event: RouteInput,
    now: datetime,
    klass: Classification,
    path: Path,
    quiet: QuietState,
    outcome: Outcome,
) -> RoutingExplanation:
    deferral = None
    if outcome.deferred_until is not None:
        deferral = {
            "until": outcome.deferred_until.isoformat(),
            "until_local": quiet.ends_at.astimezone(quiet.local_time.tzinfo).isoformat()
            if quiet.ends_at
            else None,
            "reason": outcome.reason,
        }
    return RoutingExplanation(
        policy_version=version,
        rule=path.rule,
        team=path.team,
        severity_class=klass.klass,
        inputs=event.as_dict(now),
        schedule=path.schedule,
        skipped=path.skipped,
        summary=_summary(klass, path, outcome),
        disposition=outcome.disposition,
        reason=outcome.reason,
        classification=klass.as_dict(),
        quiet_hours=quiet.as_dict(),
        deferral=deferral,
        notes=(*klass.notes, *path.notes),
    )


def _summary(klass: Classification, path: Path, outcome: Outcome) -> str:
    """One line for the page and the proof packet."""
    custodian = path.levels[0].recipients[0]
    head = f"{path.via}; {klass.klass.upper()} ({klass.basis}); level 1: {custodian}"
    if path.skipped:
        head += f"; skipped {len(path.skipped)}"
    if outcome.disposition == "offer":
        return head
    return f"{head}; {outcome.disposition}: {outcome.reason}"
