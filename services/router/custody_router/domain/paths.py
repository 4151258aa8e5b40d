"""Who an incident goes to, before quiet hours: its route's chain, the owner of its exception
class, or the owner of last resort. First match wins, on source, service and labels."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from custody.contracts import Level
from custody.policy.fields import EXCEPTION_CLASSES, did_you_mean
from custody.policy.model import Policy, Route, SeverityClass
from custody_router.domain.chain import fallback_custodian, resolve_chain
from custody_router.domain.inputs import RouteInput

EXCEPTION_LABEL = "exception"  # labels.exception: data_missing | cross_team_dependency | ...
NO_ROUTE = "(no route matched)"
LAST_RESORT_WAIT_S = 900.0  # when the class sets no acceptance SLA


@dataclass(frozen=True)
class Path:
    rule: str  # the route id, or NO_ROUTE
    team: str
    via: str  # how the levels were found, in words
    levels: tuple[Level, ...]
    repeat: int = 0
    schedule: dict[str, str] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    acceptance_sla_s: float | None = None
    notes: tuple[str, ...] = ()
    last_resort: bool = False


def match_route(policy: Policy, event: RouteInput) -> Route | None:
    for candidate in policy.routes:
        m = candidate.match
        if m.source is not None and m.source != event.source:
            continue
        if m.service is not None and m.service != event.service:
            continue
        if m.no_service and event.service is not None:
            continue
        if any(event.labels.get(k) != v for k, v in m.labels.items()):
            continue
        return candidate
    return None


def find_path(policy: Policy, event: RouteInput, plan: SeverityClass, now: datetime) -> Path:
    matched = match_route(policy, event)
    if matched is None:
        team = policy.home_team()
        return last_resort(policy, NO_ROUTE, team, event, plan, "no route matched")
    klass, notes = exception_class(event)
    if klass is not None:
        found = exception_path(policy, matched, klass, event, plan)
        if found is not None:
            return found
        notes += (f"team {matched.team} has no {klass} owner: routed by its chain",)
    chain = policy.chains[matched.chain]
    resolved = resolve_chain(policy, matched.team, chain, event.raised_by, plan.channels, now)
    if not resolved.levels:
        why = "every level resolved to nobody or to the raiser"
        found = last_resort(policy, matched.id, matched.team, event, plan, why)
        return replace(found, schedule=resolved.schedule, skipped=resolved.skipped, notes=notes)
    return Path(
        rule=matched.id,
        team=matched.team,
        via=f"route {matched.id} → team {matched.team}, chain {matched.chain}",
        levels=resolved.levels,
        repeat=chain.repeat,
        schedule=resolved.schedule,
        skipped=resolved.skipped,
        acceptance_sla_s=plan.acceptance_sla,
        notes=notes,
    )


def exception_class(event: RouteInput) -> tuple[str | None, tuple[str, ...]]:
    value = event.labels.get(EXCEPTION_LABEL)
    if value is None:
        return None, ()
    if value in EXCEPTION_CLASSES:
        return value, ()
    hint = did_you_mean(value, EXCEPTION_CLASSES)
    return None, (f"labels.{EXCEPTION_LABEL}={value!r} is not an exception class{hint}",)


def exception_path(
    policy: Policy, matched: Route, klass: str, event: RouteInput, plan: SeverityClass
) -> Path | None:
    """Data missing, cross-team dependency or legal hold: the class's owner, with its SLA."""
    owner = policy.teams[matched.team].exceptions.owner_of(klass)
    if owner is None:
        return None
    if owner.owner == event.raised_by:
        why = f"{klass} owner {owner.owner} raised it (second account)"
        return last_resort(policy, matched.id, matched.team, event, plan, why)
    why = f"{klass} exception owner of {matched.team}: {owner.owner} (SLA {owner.sla:g}s)"
    level = Level(
        number=1, recipients=(owner.owner,), wait_s=owner.sla, channels=plan.channels, why=why
    )
    return Path(
        rule=matched.id,
        team=matched.team,
        via=f"route {matched.id} → team {matched.team}, exception {klass}",
        levels=(level,),
        schedule={f"exception {klass}": why},
        acceptance_sla_s=owner.sla,
    )


def last_resort(
    policy: Policy, rule: str, team_id: str, event: RouteInput, plan: SeverityClass, why: str
) -> Path:
    owner = fallback_custodian(policy, policy.teams[team_id], event.raised_by)
    said = f"{why}: owner of last resort {owner} of team {team_id}"
    if owner != policy.teams[team_id].last_resort:
        said += f" ({policy.teams[team_id].last_resort} raised it, so the next in line)"
    wait = plan.acceptance_sla or LAST_RESORT_WAIT_S
    level = Level(number=1, recipients=(owner,), wait_s=wait, channels=plan.channels, why=said)
    return Path(
        rule=rule,
        team=team_id,
        via=said,
        levels=(level,),
        acceptance_sla_s=plan.acceptance_sla,
        last_resort=True,
    )
