"""A chain resolved to people at routing time (the escalation's snapshot), never the raiser.

Targets: `primary`, `secondary`, `manager` of the route's team; `<role>@<team>` of another
team; `person:<id>`. A target that resolves to nobody, or to the raiser (second account,
invariant 4), is skipped and the skip is written down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from custody.contracts import Level
from custody.policy.model import Chain, Policy, Team
from custody_router.domain.schedule import OnCall, resolve_layer


@dataclass(frozen=True)
class Resolved:
    levels: tuple[Level, ...]
    schedule: dict[str, str]  # "level 1 primary" → who was on call and why
    skipped: tuple[str, ...]


def resolve_target(policy: Policy, team_id: str, target: str, now: datetime) -> OnCall:
    if target.startswith("person:"):
        person = target.removeprefix("person:")
        return OnCall(person, f"person: {person}")
    role, _, other = target.partition("@")
    owner = other or team_id
    team = policy.teams[owner]
    if role == "manager":
        return OnCall(team.manager, f"manager of {owner}: {team.manager}")
    found = resolve_layer(team.schedule, role, now)
    return OnCall(found.person, f"{found.why} ({owner})" if other else found.why)


def resolve_chain(
    policy: Policy,
    team_id: str,
    chain: Chain,
    raiser: str,
    channels: tuple[str, ...],
    now: datetime,
) -> Resolved:
    levels: list[Level] = []
    schedule: dict[str, str] = {}
    skipped: list[str] = []
    for index, spec in enumerate(chain.levels, start=1):
        recipients: list[str] = []
        whys: list[str] = []
        for target in spec.targets:
            found = resolve_target(policy, team_id, target, now)
            schedule[f"level {index} {target}"] = found.why
            if found.person is None:
                skipped.append(f"level {index} {target}: nobody ({found.why})")
            elif found.person == raiser:
                skipped.append(f"level {index} {target}: {raiser} raised it (second account)")
            elif found.person not in recipients:
                recipients.append(found.person)
                whys.append(found.why)
        if recipients:
            number = len(levels) + 1
            level = Level(
                number=number,
                recipients=tuple(recipients),
                wait_s=spec.wait,
                channels=channels,
                why="; ".join(whys),
            )
            levels.append(level)
    return Resolved(tuple(levels), schedule, tuple(skipped))


def fallback_custodian(policy: Policy, team: Team, raiser: str) -> str:
    """Second account: the owner of last resort, else the manager, a team member, an admin,
    anyone but the raiser, in that order. The policy has at least two people, so somebody
    other than the raiser always exists."""
    ordered = (
        team.last_resort,
        team.manager,
        *team.members,
        *policy.admins,
        *sorted(policy.people),
    )
    return next(candidate for candidate in ordered if candidate != raiser)
