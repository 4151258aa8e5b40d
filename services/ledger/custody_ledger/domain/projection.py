"""The `escalations` projection: how each fact changes an escalation's current view.

Facts arrive in any order across streams, so every rule here converges whatever the order:
- state and custodian move only when a custody fact's `version` beats the stored one;
- title, severity and raised_by come from `raised` (authoritative), else fill a blank from
  `routed` or a custody fact;
- routing fields come from `routed`; the proof from `raised`, else from `routed`;
- opened_at is the earliest fact's time, updated_at the latest;
- people (everyone ever offered, holding or paged) only grows.
Before any custody fact the state is `open`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from custody_ledger.domain.facts import Fact
from custody_ledger.domain.services import CUSTODY_CHANGES, PAGE_OUTCOMES


@dataclass(frozen=True)
class Escalation:
    escalation_id: str
    title: str = ""
    severity: str | None = None
    state: str = "open"
    custodian: str | None = None
    raised_by: str = ""
    opened_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0
    level: int | None = None
    team: str | None = None
    policy_version: str | None = None
    rule: str | None = None
    explanation: dict[str, Any] | None = None
    proof: dict[str, Any] | None = None
    customer_impact: bool | None = None
    trace_id: str | None = None
    people: tuple[str, ...] = ()
    raised: bool = False  # the `raised` fact is applied: its fields win over other copies


def _str(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    return value if isinstance(value, str) else ""


def _with_people(view: Escalation, *names: str | None) -> Escalation:
    people = set(view.people) | {n for n in names if n}
    return replace(view, people=tuple(sorted(people)))


def _fill(current: str, candidate: str) -> str:
    return current or candidate


def _raised(view: Escalation, p: dict[str, Any]) -> Escalation:
    event = p.get("event") if isinstance(p.get("event"), dict) else {}
    assert isinstance(event, dict)
    return replace(
        view,
        title=_str(event, "title") or view.title,
        severity=_str(event, "severity") or view.severity,
        raised_by=_str(p, "raised_by") or view.raised_by,
        customer_impact=bool(event.get("customer_impact", False)),
        proof=event.get("proof") if isinstance(event.get("proof"), dict) else view.proof,
        raised=True,
    )


def _routed(view: Escalation, p: dict[str, Any]) -> Escalation:
    explanation = p.get("explanation") if isinstance(p.get("explanation"), dict) else None
    explanation = explanation or {}
    return replace(
        view,
        title=_fill(view.title, _str(p, "title")),
        severity=view.severity or _str(p, "severity") or None,
        raised_by=_fill(view.raised_by, _str(p, "raised_by")),
        customer_impact=view.customer_impact
        if view.customer_impact is not None
        else bool(p.get("customer_impact", False)),
        team=_str(p, "team") or view.team,
        policy_version=_str(explanation, "policy_version") or view.policy_version,
        rule=_str(explanation, "rule") or view.rule,
        explanation=explanation or view.explanation,
        proof=view.proof if view.raised and view.proof else p.get("proof") or view.proof,
    )


def _custody(view: Escalation, p: dict[str, Any]) -> Escalation:
    offered = [n for n in p.get("offered_to") or () if isinstance(n, str)]
    custodian = p.get("custodian") if isinstance(p.get("custodian"), str) else None
    view = _with_people(view, custodian, *offered)
    view = replace(
        view,
        title=_fill(view.title, _str(p, "title")),
        severity=view.severity or _str(p, "severity") or None,
        raised_by=_fill(view.raised_by, _str(p, "raised_by")),
    )
    version = p.get("version")
    if isinstance(version, int) and version > view.version:
        level = p.get("level")
        view = replace(
            view,
            state=_str(p, "state") or view.state,
            custodian=custodian,
            version=version,
            level=level if isinstance(level, int) else view.level,
        )
    return view


def apply(view: Escalation, fact: Fact) -> Escalation:
    """`view` after `fact`."""
    p = fact.payload
    if fact.kind == "raised":
        view = _raised(view, p)
        view = replace(view, trace_id=fact.trace_id or view.trace_id)
    elif fact.kind == "routed":
        view = _routed(view, p)
    elif fact.kind in CUSTODY_CHANGES:
        view = _custody(view, p)
    elif fact.kind == "page_requested" or fact.kind in PAGE_OUTCOMES:
        view = _with_people(view, _str(p, "recipient"))
    at = fact.occurred_at
    return replace(
        view,
        opened_at=at if view.opened_at is None else min(view.opened_at, at),
        updated_at=at if view.updated_at is None else max(view.updated_at, at),
        trace_id=view.trace_id or fact.trace_id,
    )


def fold(current: dict[str, Escalation], facts: Iterable[Fact]) -> dict[str, Escalation]:
    """The views changed by `facts`, starting from `current` (missing ones start empty)."""
    changed: dict[str, Escalation] = {}
    for fact in facts:
        if not fact.escalation_id:
            continue
        eid = fact.escalation_id
        view = changed.get(eid) or current.get(eid) or Escalation(eid)
        changed[eid] = apply(view, fact)
    return changed
