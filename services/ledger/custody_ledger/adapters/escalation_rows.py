"""Mapping between `escalations` rows and the domain's `Escalation` view."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from custody_ledger.domain.projection import Escalation

COLUMNS: Final = (
    "escalation_id",
    "title",
    "severity",
    "state",
    "custodian",
    "raised_by",
    "opened_at",
    "updated_at",
    "version",
    "level",
    "team",
    "policy_version",
    "rule",
    "explanation",
    "proof",
    "customer_impact",
    "trace_id",
    "people",
    "raised",
)
SELECT_LIST: Final = ", ".join(COLUMNS)

UPSERT: Final = (
    f"INSERT INTO escalations ({SELECT_LIST}) VALUES "
    f"({', '.join(f'${i}' for i in range(1, len(COLUMNS) + 1))}) "
    "ON CONFLICT (escalation_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[1:])
)


def from_row(row: Mapping[str, Any]) -> Escalation:
    values = {c: row[c] for c in COLUMNS}
    values["people"] = tuple(values["people"] or ())
    return Escalation(**values)


def to_params(view: Escalation) -> tuple[Any, ...]:
    return tuple(
        list(view.people) if column == "people" else getattr(view, column) for column in COLUMNS
    )
