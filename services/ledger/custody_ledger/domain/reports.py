"""`custody report`: the numbers an SRE lead reads on Monday morning, from the report tables.

Every figure covers escalations opened in the window (`days` up to `now`), except the stalled
list, which is every escalation not yet resolved, however old: that is the checklist.
- MTTA / MTTR: mean seconds from opening to the first ack / to the resolve, by severity and
  by team.
- Acceptance time per chain level: from the first offer at a level to an ack at that level.
- Handoffs per escalation: reassigned, declined, timed out or SLA breached (custody moved on).
- Exception rate: the share of escalations raised with an exception class (labels.exception).
- Stalled: the 10 unresolved escalations that have gone longest without custody progress.
- Daily: raised, acknowledged and resolved per UTC day of the window.
- Pending follow-ups (acked, unresolved, follow-up note written), in-doubt pages, reviews.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from custody_ledger.domain.projection import Escalation
from custody_ledger.domain.report_projection import EscalationStats, InDoubtPage

STALLED_TOP = 10


@dataclass(frozen=True)
class Row:
    """One escalation as the report sees it: its stats and its current view."""

    stats: EscalationStats
    view: Escalation


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.fmean(present), 3) if present else None


def _times(rows: Sequence[Row]) -> dict[str, Any]:
    return {
        "escalations": len(rows),
        "acknowledged": sum(r.stats.acknowledged_at is not None for r in rows),
        "resolved": sum(r.stats.resolved_at is not None for r in rows),
        "mtta_s": _mean(_seconds(r.stats.opened_at, r.stats.acknowledged_at) for r in rows),
        "mttr_s": _mean(_seconds(r.stats.opened_at, r.stats.resolved_at) for r in rows),
    }


def _grouped(rows: Sequence[Row], key: Callable[[Row], str | None]) -> dict[str, Any]:
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        groups[key(row) or "unknown"].append(row)
    return {name: _times(group) for name, group in sorted(groups.items())}


def acceptance_by_level(rows: Sequence[Row]) -> dict[str, Any]:
    waits: dict[int, list[float]] = defaultdict(list)
    for row in rows:
        s = row.stats
        offered = dict(s.level_offered_at).get(s.ack_level) if s.ack_level is not None else None
        wait = _seconds(offered, s.acknowledged_at)
        if s.ack_level is not None and wait is not None:
            waits[s.ack_level].append(wait)
    return {
        str(level): {
            "acknowledged": len(values),
            "mean_s": round(statistics.fmean(values), 3),
            "p50_s": round(statistics.median(values), 3),
            "max_s": round(max(values), 3),
        }
        for level, values in sorted(waits.items())
    }


def handoffs(rows: Sequence[Row]) -> dict[str, Any]:
    counts = [(r.view.escalation_id, r.stats.handoffs) for r in rows]
    moved = sorted((c for c in counts if c[1] > 0), key=lambda c: (-c[1], c[0]))
    return {
        "mean": round(statistics.fmean([n for _, n in counts]), 3) if counts else None,
        "max": max((n for _, n in counts), default=0),
        "by_escalation": [{"escalation_id": e, "handoffs": n} for e, n in moved],
    }


def exception_rate(rows: Sequence[Row]) -> dict[str, Any]:
    by_class: dict[str, int] = defaultdict(int)
    for row in rows:
        if row.stats.exception_class:
            by_class[row.stats.exception_class] += 1
    total = sum(by_class.values())
    return {
        "rate": round(total / len(rows), 4) if rows else 0.0,
        "exceptions": total,
        "escalations": len(rows),
        "by_class": dict(sorted(by_class.items())),
    }


def _brief(row: Row) -> dict[str, Any]:
    v = row.view
    return {
        "escalation_id": v.escalation_id,
        "title": v.title,
        "severity": v.severity,
        "state": v.state,
        "custodian": v.custodian,
        "team": row.stats.team or v.team,
    }


def stalled(rows: Sequence[Row], now: datetime) -> list[dict[str, Any]]:
    """Unresolved, longest without custody progress first: the Monday-morning checklist."""
    waiting = [
        (row, row.stats.last_progress_at or row.stats.opened_at or now)
        for row in rows
        if row.view.state != "resolved" and row.stats.resolved_at is None
    ]
    waiting.sort(key=lambda item: (item[1], item[0].view.escalation_id))
    return [
        {**_brief(row), "last_progress_at": since.isoformat(), "stalled_s": _seconds(since, now)}
        for row, since in waiting[:STALLED_TOP]
    ]


def _day(at: datetime | None) -> str | None:
    return at.astimezone(UTC).date().isoformat() if at is not None else None


def daily(rows: Sequence[Row], since: datetime, now: datetime) -> list[dict[str, Any]]:
    """Per UTC day of the window: raised (and by severity), acknowledged, resolved."""
    first, last = since.astimezone(UTC).date(), now.astimezone(UTC).date()
    dates = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    counts = {d: {"raised": 0, "acknowledged": 0, "resolved": 0} for d in dates}
    severities: dict[str, dict[str, int]] = {d: defaultdict(int) for d in dates}
    for row in rows:
        s = row.stats
        for field, at in (
            ("raised", s.opened_at),
            ("acknowledged", s.acknowledged_at),
            ("resolved", s.resolved_at),
        ):
            day = _day(at)
            if day in counts:
                counts[day][field] += 1
        opened = _day(s.opened_at)
        if opened in severities:
            severities[opened][s.severity or "unknown"] += 1
    return [
        {"date": d, **counts[d], "by_severity": dict(sorted(severities[d].items()))} for d in dates
    ]


def pending_followups(rows: Sequence[Row]) -> list[dict[str, Any]]:
    pending = [r for r in rows if r.stats.followup_at is not None and r.view.state != "resolved"]
    pending.sort(key=lambda r: (r.stats.followup_at, r.view.escalation_id))
    return [
        {
            **_brief(r),
            "followup_at": r.stats.followup_at.isoformat() if r.stats.followup_at else None,
            "reason": r.stats.followup_reason,
        }
        for r in pending
    ]


def in_doubt(pages: Sequence[InDoubtPage]) -> list[dict[str, Any]]:
    return [
        {
            "escalation_id": p.escalation_id,
            "page_id": p.page_id,
            "recipient": p.recipient,
            "channel": p.channel,
            "level": p.level,
            "at": p.at.isoformat(),
        }
        for p in sorted(pages, key=lambda p: (p.at, p.msg_id))
    ]


def build(
    rows: Sequence[Row],
    pages: Sequence[InDoubtPage],
    reviews: Sequence[dict[str, Any]],
    *,
    now: datetime,
    days: int,
) -> dict[str, Any]:
    """`rows`: escalations opened since now - days, plus any still unresolved."""
    since = now - timedelta(days=days)
    window = [r for r in rows if r.stats.opened_at is not None and r.stats.opened_at >= since]
    return {
        "window": {"days": days, "since": since.isoformat(), "until": now.isoformat()},
        "totals": _times(window),
        "by_severity": _grouped(window, lambda r: r.stats.severity),
        "by_team": _grouped(window, lambda r: r.stats.team),
        "acceptance_by_level": acceptance_by_level(window),
        "handoffs": handoffs(window),
        "exception_rate": exception_rate(window),
        "stalled": stalled(rows, now),
        "daily": daily(window, since, now),
        "pending_followups": pending_followups(rows),
        "in_doubt_pages": in_doubt([p for p in pages if p.at >= since]),
        "reviews": sorted(reviews, key=lambda r: (r["at"], r["review_id"])),
    }
