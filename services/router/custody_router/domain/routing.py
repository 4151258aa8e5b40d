"""The routing decision: match a route, resolve its chain to people, never to the raiser."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from custody.contracts import Level, RoutingExplanation
from custody.policy.model import Policy, Route, Team
from custody_router.domain.schedule import on_call


@dataclass(frozen=True)
class RouteInput:
    source: str
    service: str | None
    labels: dict[str, str]
    severity: str
    customer_impact: bool
    raised_by: str


@dataclass(frozen=True)
class Decision:
    team: str
    levels: tuple[Level, ...]
    repeat: int
    last_resort: str
    explanation: RoutingExplanation
    notes: tuple[str, ...] = field(default=())


def match_route(policy: Policy, event: RouteInput) -> Route | None:
    """First match wins, on source, service and labels."""
    for route in policy.routes:
        m = route.match
        if m.source is not None and m.source != event.source:
            continue
        if m.service is not None and m.service != event.service:
            continue
        if m.no_service and event.service is not None:
            continue
        if any(event.labels.get(k) != v for k, v in m.labels.items()):
            continue
        return route
    return None


def severity_class(event: RouteInput) -> str:
    """Customer impact makes anything RED (DESIGN.md: RED is irreversible or customer-impacting)."""
    return "red" if event.customer_impact else event.severity


def _resolve_target(target: str, team: Team, now: datetime) -> tuple[str | None, str]:
    schedule = team.schedule
    if target == "primary":
        person, why = on_call(schedule.primary, schedule.timezone, now)
        return person, f"primary: {person}, {why}"
    if target == "secondary":
        if schedule.secondary is None:
            return None, "secondary: the team has no secondary rotation"
        person, why = on_call(schedule.secondary, schedule.timezone, now)
        return person, f"secondary: {person}, {why}"
    if target == "manager":
        return team.manager, f"manager: {team.manager}"
    person = target.removeprefix("person:")
    return person, f"person: {person}"


def fallback_custodian(policy: Policy, team: Team, raiser: str) -> str:
    """Second account: the owner of last resort, else the manager, a team member, an admin,
    anyone but the raiser, in that order. The raiser is never chosen."""
    ordered = (team.last_resort, team.manager, *team.members, *policy.admins, *sorted(policy.people))
    for candidate in ordered:
        if candidate != raiser:
            return candidate
    raise ValueError("the policy has nobody but the raiser to take custody")


def route(policy: Policy, version: str, event: RouteInput, now: datetime) -> Decision:
    """Decide team, chain levels (resolved to people now: the escalation's snapshot) and why."""
    klass = severity_class(event)
    channels = policy.severity[klass].channels if klass in policy.severity else ("sms",)
    matched = match_route(policy, event)
    inputs = {
        "source": event.source,
        "service": event.service,
        "labels": event.labels,
        "severity": event.severity,
        "customer_impact": event.customer_impact,
        "raised_by": event.raised_by,
        "at": now.isoformat(),
    }
    if matched is None:
        team_id = policy.default_team or sorted(policy.teams)[0]
        team = policy.teams[team_id]
        owner = fallback_custodian(policy, team, event.raised_by)
        level = Level(
            number=1, recipients=(owner,), wait_s=900.0, channels=channels, why="last resort"
        )
        explanation = RoutingExplanation(
            policy_version=version,
            rule="(no route matched)",
            team=team_id,
            severity_class=klass,
            inputs=inputs,
            schedule={},
            summary=f"no route matched; owner of last resort {owner} of {team_id}",
        )
        return Decision(team_id, (level,), 0, owner, explanation)

    team = policy.teams[matched.team]
    chain = policy.chains[matched.chain]
    levels: list[Level] = []
    schedule: dict[str, str] = {}
    skipped: list[str] = []
    for index, spec in enumerate(chain.levels, start=1):
        recipients: list[str] = []
        whys: list[str] = []
        for target in spec.targets:
            person, why = _resolve_target(target, team, now)
            schedule[f"level {index} {target}"] = why
            if person is None:
                skipped.append(f"level {index}: {why}")
            elif person == event.raised_by:
                # Invariant 4: custody never transfers to the raiser.
                skipped.append(f"level {index}: {person} raised it (second account)")
            elif person not in recipients:
                recipients.append(person)
                whys.append(why)
        if recipients:
            levels.append(
                Level(
                    number=len(levels) + 1,
                    recipients=tuple(recipients),
                    wait_s=spec.wait,
                    channels=channels,
                    why="; ".join(whys),
                )
            )
    last_resort = fallback_custodian(policy, team, event.raised_by)
    if not levels:
        levels.append(
            Level(
                number=1,
                recipients=(last_resort,),
                wait_s=900.0,
                channels=channels,
                why="every level resolved to nobody but the raiser: owner of last resort",
            )
        )
    first = levels[0].recipients[0]
    explanation = RoutingExplanation(
        policy_version=version,
        rule=matched.id,
        team=matched.team,
        severity_class=klass,
        inputs=inputs,
        schedule=schedule,
        skipped=tuple(skipped),
        summary=(
            f"route {matched.id} → team {matched.team}, chain {matched.chain}; "
            f"level 1: {first}" + (f"; skipped {len(skipped)}" if skipped else "")
        ),
    )
    return Decision(matched.team, tuple(levels), chain.repeat, last_resort, explanation)
