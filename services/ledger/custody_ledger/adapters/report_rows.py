"""Mapping between the report tables (and `reviews`) and the domain's report views."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from custody_ledger.domain.facts import Fact
from custody_ledger.domain.report_projection import EscalationStats, InDoubtPage

COLUMNS: Final = (
    "escalation_id",
    "severity",
    "team",
    "opened_at",
    "first_offered_at",
    "acknowledged_at",
    "ack_level",
    "resolved_at",
    "handoffs",
    "level_offered_at",
    "exception_class",
    "followup_at",
    "followup_reason",
    "last_progress_at",
    "in_doubt",
)
SELECT_LIST: Final = ", ".join(COLUMNS)

UPSERT: Final = (
    f"INSERT INTO report_escalations ({SELECT_LIST}) VALUES "
    f"({', '.join(f'${i}' for i in range(1, len(COLUMNS) + 1))}) "
    "ON CONFLICT (escalation_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[1:])
)

INSERT_IN_DOUBT: Final = (
    "INSERT INTO report_pages_in_doubt (msg_id, escalation_id, page_id, recipient, channel,"
    " level, at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (msg_id) DO NOTHING"
)

REVIEW_COLUMNS: Final = (
    "review_id",
    "escalation_id",
    "author",
    "at",
    "threshold_right",
    "threshold_note",
    "if_earlier",
    "gap",
    "gap_detail",
)
INSERT_REVIEW: Final = (
    f"INSERT INTO reviews ({', '.join(REVIEW_COLUMNS)}) VALUES "
    f"({', '.join(f'${i}' for i in range(1, len(REVIEW_COLUMNS) + 1))}) "
    "ON CONFLICT (review_id) DO NOTHING"
)


def from_row(row: Mapping[str, Any]) -> EscalationStats:
    values = {c: row[c] for c in COLUMNS}
    levels = values["level_offered_at"] or {}
    values["level_offered_at"] = tuple(
        sorted((int(level), datetime.fromisoformat(at)) for level, at in levels.items())
    )
    return EscalationStats(**values)


def to_params(stats: EscalationStats) -> tuple[Any, ...]:
    levels = {str(level): at.isoformat() for level, at in stats.level_offered_at}
    return tuple(
        levels if column == "level_offered_at" else getattr(stats, column) for column in COLUMNS
    )


def in_doubt_params(page: InDoubtPage) -> tuple[Any, ...]:
    return (
        page.msg_id,
        page.escalation_id,
        page.page_id,
        page.recipient,
        page.channel,
        page.level,
        page.at,
    )


def review_params(fact: Fact) -> tuple[Any, ...]:
    p = fact.payload
    return (
        fact.msg_id,
        fact.escalation_id,
        fact.actor,
        fact.occurred_at,
        bool(p.get("threshold_right")),
        str(p.get("threshold_note") or ""),
        str(p.get("if_earlier") or ""),
        str(p.get("gap") or "none"),
        str(p.get("gap_detail") or ""),
    )
