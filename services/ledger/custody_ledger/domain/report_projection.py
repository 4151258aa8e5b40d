"""The report tables' projection: per escalation, the times and counts `custody report` needs.

Like projection.py it converges whatever the arrival order: every time is the earliest (or,
for progress and follow-ups, the latest) of its facts, the ack level travels with the earliest
ack, and counts add one per fact, which the writer applies exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from custody_ledger.domain.facts import Fact
from custody_ledger.domain.services import CUSTODY_CHANGES

# Custody moved on to someone else: handed over, handed back, timed out, SLA breached.
HANDOFFS: Final = frozenset({"reassigned", "declined", "timed_out", "sla_breached"})
EXCEPTION_LABEL: Final = "exception"  # labels.exception: data_missing | cross_team_dependency | …


@dataclass(frozen=True)
class EscalationStats:
    escalation_id: str
    severity: str | None = None
    team: str | None = None
    opened_at: datetime | None = None
    first_offered_at: datetime | None = None
    acknowledged_at: datetime | None = None
    ack_level: int | None = None
    resolved_at: datetime | None = None
    handoffs: int = 0
    level_offered_at: tuple[tuple[int, datetime], ...] = ()
    exception_class: str | None = None
    followup_at: datetime | None = None
    followup_reason: str = ""
    last_progress_at: datetime | None = None
    in_doubt: int = 0


@dataclass(frozen=True)
class InDoubtPage:
    msg_id: str
    escalation_id: str
    page_id: str
    recipient: str
    channel: str
    level: int | None
    at: datetime


def _earliest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None else min(current, candidate)


def _latest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None else max(current, candidate)


def _level(payload: dict[str, Any]) -> int | None:
    level = payload.get("level")
    return level if isinstance(level, int) and not isinstance(level, bool) else None


def _offered(stats: EscalationStats, at: datetime, level: int | None) -> EscalationStats:
    levels = dict(stats.level_offered_at)
    if level is not None:
        levels[level] = _earliest(levels.get(level), at)
    return replace(
        stats,
        first_offered_at=_earliest(stats.first_offered_at, at),
        level_offered_at=tuple(sorted(levels.items())),
    )


def _acknowledged(stats: EscalationStats, at: datetime, level: int | None) -> EscalationStats:
    # Ties are broken on the level too, so the outcome does not depend on arrival order.
    current = stats.acknowledged_at
    if current is not None and (current, stats.ack_level or 0) <= (at, level or 0):
        return stats
    return replace(stats, acknowledged_at=at, ack_level=level)


def _followup(stats: EscalationStats, at: datetime, reason: str) -> EscalationStats:
    current = stats.followup_at
    if current is not None and (current, stats.followup_reason) >= (at, reason):
        return stats
    return replace(stats, followup_at=at, followup_reason=reason)


def _custody(stats: EscalationStats, fact: Fact) -> EscalationStats:
    at, p, kind = fact.occurred_at, fact.payload, fact.kind
    stats = replace(stats, last_progress_at=_latest(stats.last_progress_at, at))
    if kind == "offered":
        stats = _offered(stats, at, _level(p))
    elif kind == "acknowledged":
        stats = _acknowledged(stats, at, _level(p))
    elif kind == "resolved":
        stats = replace(stats, resolved_at=_earliest(stats.resolved_at, at))
    elif kind == "followup":
        stats = _followup(stats, at, str(p.get("reason") or ""))
    if kind in HANDOFFS:
        stats = replace(stats, handoffs=stats.handoffs + 1)
    return stats


def _raised(stats: EscalationStats, p: dict[str, Any]) -> EscalationStats:
    event = p.get("event") if isinstance(p.get("event"), dict) else {}
    assert isinstance(event, dict)
    labels = event.get("labels") if isinstance(event.get("labels"), dict) else {}
    assert isinstance(labels, dict)
    klass = labels.get(EXCEPTION_LABEL)
    return replace(
        stats,
        severity=str(event.get("severity") or "") or stats.severity,
        exception_class=klass if isinstance(klass, str) and klass else stats.exception_class,
    )


def apply(stats: EscalationStats, fact: Fact) -> EscalationStats:
    """`stats` after `fact`."""
    p = fact.payload
    if fact.kind == "raised":
        stats = _raised(stats, p)
    elif fact.kind == "routed":
        team = p.get("team")
        severity = p.get("severity")
        stats = replace(
            stats,
            team=team if isinstance(team, str) and team else stats.team,
            severity=stats.severity or (severity if isinstance(severity, str) else None),
        )
    elif fact.kind in CUSTODY_CHANGES:
        stats = _custody(stats, fact)
    elif fact.kind == "page_in_doubt":
        stats = replace(stats, in_doubt=stats.in_doubt + 1)
    return replace(stats, opened_at=_earliest(stats.opened_at, fact.occurred_at))


def fold(current: dict[str, EscalationStats], facts: Iterable[Fact]) -> dict[str, EscalationStats]:
    """The stats changed by `facts`, starting from `current` (missing ones start empty)."""
    changed: dict[str, EscalationStats] = {}
    for fact in facts:
        if not fact.escalation_id or fact.kind == "review":
            continue
        eid = fact.escalation_id
        stats = changed.get(eid) or current.get(eid) or EscalationStats(eid)
        changed[eid] = apply(stats, fact)
    return changed


def in_doubt_pages(facts: Iterable[Fact]) -> list[InDoubtPage]:
    return [
        InDoubtPage(
            fact.msg_id,
            fact.escalation_id,
            str(fact.payload.get("page_id") or ""),
            str(fact.payload.get("recipient") or ""),
            str(fact.payload.get("channel") or ""),
            _level(fact.payload),
            fact.occurred_at,
        )
        for fact in facts
        if fact.kind == "page_in_doubt"
    ]
