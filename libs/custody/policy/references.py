"""Checks across sections of a parsed policy: every name it uses exists, and the rules make
sense together. Each problem carries the exact field path it comes from, so the loader can
give its line, and says what to do about it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from custody.policy.fields import CLASS_NAMES, EXCEPTION_CLASSES, ROLES, did_you_mean
from custody.policy.wallclock import to_instant

if TYPE_CHECKING:
    from custody.policy.model import Policy, Route, Team

Loc = tuple[str | int, ...]
Finding = tuple[Loc, str]
# The validation-context key under which the loader collects findings instead of failing.
REFERENCE_PROBLEMS = "reference_problems"
TARGET_FORMS = "primary, secondary, manager, <role>@<team> or person:<id>"


def render(loc: Iterable[str | int]) -> str:
    """`teams.payments.schedule.primary.members[1]`: dotted keys, bracketed list indices."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(policy)"


def check_references(policy: Policy) -> list[Finding]:
    found: list[Finding] = [*_sizes(policy), *_principals(policy)]
    for team_id, team in policy.teams.items():
        found += _team(policy, ("teams", team_id), team)
    for chain_id, chain in policy.chains.items():
        for i, level in enumerate(chain.levels):
            for j, target in enumerate(level.targets):
                found += _target(policy, ("chains", chain_id, "levels", i, "targets", j), target)
    found += _routes(policy)
    found += _severity(policy)
    found += _classification(policy)
    return found


def _person(policy: Policy, loc: Loc, name: str) -> list[Finding]:
    if name in policy.people:
        return []
    if name in policy.agents:
        return [(loc, f"{name!r} is an agent, not a person: only people can hold custody")]
    return [(loc, f"unknown person {name!r}{did_you_mean(name, policy.people)}")]


def _team_ref(policy: Policy, loc: Loc, name: str) -> list[Finding]:
    if name in policy.teams:
        return []
    return [(loc, f"unknown team {name!r}{did_you_mean(name, policy.teams)}")]


def _sizes(policy: Policy) -> list[Finding]:
    found: list[Finding] = []
    if len(policy.people) < 2:
        found.append(
            (("people",), "at least two people are needed: custody never goes to the raiser")
        )
    if not policy.teams:
        found.append((("teams",), "at least one team is needed to own incidents"))
    if policy.default_team is not None:
        found += _team_ref(policy, ("default_team",), policy.default_team)
    elif len(policy.teams) > 1:
        found.append(
            (
                ("default_team",),
                "required with several teams: name the team whose owner of "
                "last resort gets incidents no route matches",
            )
        )
    return found


def _principals(policy: Policy) -> list[Finding]:
    found: list[Finding] = []
    for section in ("admins", "operators"):
        for i, name in enumerate(getattr(policy, section)):
            found += _person(policy, (section, i), name)
    for name in policy.agents:
        if name in policy.people:
            found.append(
                (("agents", name), f"{name!r} is also a person: a name is one or the other")
            )
    return found


def _team(policy: Policy, loc: Loc, team: Team) -> list[Finding]:
    found = _person(policy, (*loc, "manager"), team.manager)
    found += _person(policy, (*loc, "last_resort"), team.last_resort)
    if team.substitute is not None:
        found += _person(policy, (*loc, "substitute"), team.substitute)
    for i, member in enumerate(team.members):
        found += _person(policy, (*loc, "members", i), member)
    schedule = team.schedule
    for layer in ("primary", "secondary"):
        rotation = getattr(schedule, layer)
        for i, member in enumerate(rotation.members if rotation else ()):
            found += _person(policy, (*loc, "schedule", layer, "members", i), member)
    for i, override in enumerate(schedule.overrides):
        found += _person(policy, (*loc, "schedule", "overrides", i, "person"), override.person)
    found += _overlaps(team, (*loc, "schedule", "overrides"))
    for klass in EXCEPTION_CLASSES:
        owner = team.exceptions.owner_of(klass)
        if owner is not None:
            found += _person(policy, (*loc, "exceptions", klass, "owner"), owner.owner)
    return found


def _overlaps(team: Team, loc: Loc) -> list[Finding]:
    """Two overrides of one layer at once would leave who is on call up to list order."""
    zone = ZoneInfo(team.schedule.timezone)
    spans = sorted(
        (to_instant(o.start, zone), to_instant(o.end, zone), i, o.layer)
        for i, o in enumerate(team.schedule.overrides)
    )
    found: list[Finding] = []
    for later_index, (start, _, i, layer) in enumerate(spans):
        for _, end, j, other_layer in spans[:later_index]:
            if layer == other_layer and start < end:
                found.append(
                    (
                        (*loc, i),
                        f"overlaps overrides[{j}] on the {layer} layer: at most one "
                        "override per layer at a time (shorten or merge them)",
                    )
                )
    return found


def _target(policy: Policy, loc: Loc, target: str) -> list[Finding]:
    if target in ROLES:
        return []
    if target.startswith("person:"):
        return _person(policy, loc, target.removeprefix("person:"))
    role, at, team = target.partition("@")
    if at and role not in ROLES:
        return [(loc, f"{target!r}: {role!r} is not a role{did_you_mean(role, ROLES)}")]
    if at:
        return _team_ref(policy, loc, team)
    if target in policy.people:
        return [(loc, f"{target!r} is not a target (did you mean person:{target}?)")]
    hint = did_you_mean(target, ROLES) or f" (use {TARGET_FORMS})"
    return [(loc, f"{target!r} is not a target{hint}")]


def _routes(policy: Policy) -> list[Finding]:
    found: list[Finding] = []
    seen: dict[str, int] = {}
    catch_all: int | None = None
    for i, route in enumerate(policy.routes):
        loc: Loc = ("routes", i)
        if route.id in seen:
            found.append(
                ((*loc, "id"), f"duplicate route id {route.id!r} (routes[{seen[route.id]}])")
            )
        seen.setdefault(route.id, i)
        found += _team_ref(policy, (*loc, "team"), route.team)
        if route.chain not in policy.chains:
            hint = did_you_mean(route.chain, policy.chains)
            found.append(((*loc, "chain"), f"unknown chain {route.chain!r}{hint}"))
        found += _route_match(route, loc, catch_all)
        if catch_all is None and route.match == type(route.match)():
            catch_all = i
    return found


def _route_match(route: Route, loc: Loc, catch_all: int | None) -> list[Finding]:
    if route.match.no_service and route.match.service is not None:
        return [((*loc, "match"), "matches nothing: both service and no_service: true")]
    if catch_all is not None:
        return [(loc, f"never reached: routes[{catch_all}] matches everything (first match wins)")]
    return []


def _severity(policy: Policy) -> list[Finding]:
    found: list[Finding] = []
    for name, plan in policy.severity.items():
        loc: Loc = ("severity", name)
        if name not in CLASS_NAMES:
            hint = did_you_mean(name, CLASS_NAMES) or " (use red, yellow or green)"
            found.append((loc, f"unknown severity class {name!r}{hint}"))
        elif name == "green" and set(plan.channels) != {"digest"}:
            found.append(((*loc, "channels"), "GREEN goes to the digest only: use [digest]"))
        elif name == "red" and "sms" not in plan.channels:
            found.append(((*loc, "channels"), "RED pages by SMS at once: include sms"))
        elif name != "green" and "digest" in (*plan.channels, *plan.promote_to):
            found.append(((*loc, "channels"), f"digest is for GREEN only: {name} must page"))
    return found


def _classification(policy: Policy) -> list[Finding]:
    found: list[Finding] = []
    names: dict[str, int] = {}
    labels: dict[str, int] = {}
    for i, source in enumerate(policy.classification.inputs):
        loc: Loc = ("classification", "inputs", i)
        if source.name in names:
            found.append(((*loc, "name"), f"duplicate input name {source.name!r}"))
        if source.label in labels:
            found.append(
                (
                    (*loc, "label"),
                    f"label {source.label!r} is already read by "
                    f"inputs[{labels[source.label]}]: this input would never decide",
                )
            )
        names.setdefault(source.name, i)
        labels.setdefault(source.label, i)
    return found
