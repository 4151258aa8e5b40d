"""The read side's queries over the projection and the facts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from custody_ledger.adapters import escalation_rows, report_rows
from custody_ledger.adapters.database import Database
from custody_ledger.domain.chain import Link
from custody_ledger.domain.documents import TimelineFact
from custody_ledger.domain.projection import Escalation
from custody_ledger.domain.report_projection import InDoubtPage
from custody_ledger.domain.reports import Row

_SELECT = f"SELECT {escalation_rows.SELECT_LIST} FROM escalations"
# domain/visibility.can_see in SQL, over an `escalations` row aliased e ($1 admin, $2 viewer).
_VISIBLE = "($1 OR e.raised_by = $2 OR $2 = ANY(e.people))"
_REPORT = (
    "SELECT "
    + ", ".join(f"r.{c} AS r_{c}" for c in report_rows.COLUMNS)
    + ", "
    + ", ".join(f"e.{c}" for c in escalation_rows.COLUMNS)
    + " FROM report_escalations r JOIN escalations e USING (escalation_id)"
    + f" WHERE {_VISIBLE} AND (r.opened_at >= $3 OR r.resolved_at IS NULL)"
)


class Reads:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def escalation(self, escalation_id: str) -> Escalation | None:
        async with self._database.connection() as conn:
            row = await conn.fetchrow(f"{_SELECT} WHERE escalation_id = $1", escalation_id)
        return escalation_rows.from_row(row) if row is not None else None

    async def facts(self, escalation_id: str) -> list[TimelineFact]:
        async with self._database.connection() as conn:
            rows = await conn.fetch(
                "SELECT seq, kind, occurred_at, actor, payload FROM facts"
                " WHERE escalation_id = $1 ORDER BY occurred_at, seq",
                escalation_id,
            )
        return [
            TimelineFact(r["seq"], r["kind"], r["occurred_at"], r["actor"], r["payload"])
            for r in rows
        ]

    async def visible(
        self,
        viewer: str,
        *,
        is_admin: bool,
        state: str | None,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> list[Escalation]:
        """Newest first. The WHERE clause is domain/visibility.can_see in SQL."""
        conditions = ["($1 OR raised_by = $2 OR $2 = ANY(people))"]
        params: list[Any] = [is_admin, viewer]
        if state is not None:
            params.append(state)
            conditions.append(f"state = ${len(params)}")
        if after is not None:
            params.extend(after)
            conditions.append(f"(opened_at, escalation_id) < (${len(params) - 1}, ${len(params)})")
        params.append(limit)
        sql = (
            f"{_SELECT} WHERE {' AND '.join(conditions)}"
            f" ORDER BY opened_at DESC, escalation_id DESC LIMIT ${len(params)}"
        )
        async with self._database.connection() as conn:
            rows = await conn.fetch(sql, *params)
        return [escalation_rows.from_row(r) for r in rows]

    async def inbox(self, person: str) -> list[Escalation]:
        """What `person` holds or is being offered, newest first (domain: documents.in_inbox)."""
        async with self._database.connection() as conn:
            rows = await conn.fetch(
                f"{_SELECT} WHERE custodian = $1 AND state <> 'resolved'"
                " ORDER BY opened_at DESC, escalation_id DESC",
                person,
            )
        return [escalation_rows.from_row(r) for r in rows]

    async def report(
        self, viewer: str, *, is_admin: bool, since: datetime
    ) -> tuple[list[Row], list[InDoubtPage], list[dict[str, Any]]]:
        return await report_inputs(self._database, viewer, is_admin=is_admin, since=since)


LINK_COLUMNS = "seq, msg_id, escalation_id, kind, occurred_at, payload, prev_hash, hash"


def link_from_row(r: Any) -> Link:
    return Link(
        r["seq"],
        r["msg_id"],
        r["escalation_id"],
        r["kind"],
        r["occurred_at"],
        r["payload"],
        r["prev_hash"],
        r["hash"],
    )


async def report_inputs(
    database: Database, viewer: str, *, is_admin: bool, since: datetime
) -> tuple[list[Row], list[InDoubtPage], list[dict[str, Any]]]:
    """What domain/reports.build needs, limited to what `viewer` may see."""
    async with database.connection() as conn, conn.transaction(isolation="repeatable_read"):
        rows = await conn.fetch(_REPORT, is_admin, viewer, since)
        pages = await conn.fetch(
            "SELECT p.* FROM report_pages_in_doubt p JOIN escalations e USING (escalation_id)"
            f" WHERE {_VISIBLE} AND p.at >= $3 ORDER BY p.at",
            is_admin,
            viewer,
            since,
        )
        reviews = await conn.fetch(
            f"SELECT {', '.join(f'v.{c}' for c in report_rows.REVIEW_COLUMNS)} FROM reviews v"
            f" JOIN escalations e USING (escalation_id) WHERE {_VISIBLE} AND v.at >= $3",
            is_admin,
            viewer,
            since,
        )
    return (
        [_report_row(r) for r in rows],
        [InDoubtPage(**{k: p[k] for k in InDoubtPage.__dataclass_fields__}) for p in pages],
        [{**dict(v), "at": v["at"].isoformat()} for v in reviews],
    )


def _report_row(r: Any) -> Row:
    stats = report_rows.from_row({c: r[f"r_{c}"] for c in report_rows.COLUMNS})
    return Row(stats, escalation_rows.from_row(r))


async def read_chain(conn: Any) -> tuple[list[Link], tuple[int, str] | None]:
    """Every fact in seq order, plus the chain head; for `custody ledger verify`."""
    rows = await conn.fetch(f"SELECT {LINK_COLUMNS} FROM facts ORDER BY seq")
    head = await conn.fetchrow("SELECT seq, hash FROM chain_head WHERE id = 1")
    links = [link_from_row(r) for r in rows]
    return links, (head["seq"], head["hash"]) if head is not None else None
