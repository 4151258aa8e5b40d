"""The only Postgres writer: appends a batch of facts to the chain and updates projections,
all in one transaction.

Idempotent under redelivery: facts are keyed by msg_id. Under the chain-head row lock no
other writer can append, so the "already recorded?" check and the insert cannot race, and
a fact seen before is simply skipped (ON CONFLICT DO NOTHING semantics without leaving a
gap in seq, which a real ON CONFLICT after taking seq numbers would).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from custody_ledger.adapters import escalation_rows, report_rows
from custody_ledger.adapters.database import Database
from custody_ledger.domain import chain, projection, report_projection, reviews
from custody_ledger.domain.facts import Fact

_INSERT_FACT = """
INSERT INTO facts (seq, msg_id, escalation_id, kind, stream, subject, occurred_at, actor,
                   trace_id, payload, prev_hash, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
"""


def _unique(facts: Sequence[Fact]) -> list[Fact]:
    seen: set[str] = set()
    out = []
    for fact in facts:
        if fact.msg_id not in seen:
            seen.add(fact.msg_id)
            out.append(fact)
    return out


class FactWriter:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def append(self, facts: Sequence[Fact]) -> int:
        """Record every fact not recorded yet; returns how many were new."""
        batch = _unique(facts)
        if not batch:
            return 0
        async with self._database.connection() as conn, conn.transaction():
            head = await conn.fetchrow("SELECT seq, hash FROM chain_head WHERE id = 1 FOR UPDATE")
            known = {
                r["msg_id"]
                for r in await conn.fetch(
                    "SELECT msg_id FROM facts WHERE msg_id = ANY($1::text[])",
                    [f.msg_id for f in batch],
                )
            }
            fresh = [f for f in batch if f.msg_id not in known]
            if not fresh:
                return 0
            links = await self._insert(conn, head["seq"], head["hash"], fresh)
            await conn.execute(
                "UPDATE chain_head SET seq = $1, hash = $2 WHERE id = 1",
                links[-1].seq,
                links[-1].hash,
            )
            await self._project(conn, fresh)
        return len(fresh)

    @staticmethod
    async def _insert(
        conn: Any, head_seq: int, head_hash: str, fresh: Sequence[Fact]
    ) -> list[chain.Appended]:
        links = chain.extend(
            head_seq,
            head_hash,
            [(f.msg_id, f.escalation_id, f.kind, f.occurred_at, f.payload) for f in fresh],
        )
        rows = [
            (link.seq, f.msg_id, f.escalation_id, f.kind, f.stream, f.subject, f.occurred_at,
             f.actor, f.trace_id, f.payload, link.prev_hash, link.hash)
            for f, link in zip(fresh, links, strict=True)
        ]  # fmt: skip
        await conn.executemany(_INSERT_FACT, rows)
        return links

    async def _project(self, conn: Any, fresh: Sequence[Fact]) -> None:
        """Every read model, in the same transaction as the facts that change it."""
        ids = sorted({f.escalation_id for f in fresh if f.escalation_id})
        if ids:
            await self._project_escalations(conn, ids, fresh)
            await self._project_reports(conn, ids, fresh)
        in_doubt = report_projection.in_doubt_pages(fresh)
        if in_doubt:
            await conn.executemany(
                report_rows.INSERT_IN_DOUBT, [report_rows.in_doubt_params(p) for p in in_doubt]
            )
        written = [f for f in fresh if f.kind == reviews.KIND]
        if written:
            await conn.executemany(
                report_rows.INSERT_REVIEW, [report_rows.review_params(f) for f in written]
            )

    @staticmethod
    async def _project_escalations(conn: Any, ids: list[str], fresh: Sequence[Fact]) -> None:
        rows = await conn.fetch(
            f"SELECT {escalation_rows.SELECT_LIST} FROM escalations "
            "WHERE escalation_id = ANY($1::text[]) FOR UPDATE",
            ids,
        )
        current = {r["escalation_id"]: escalation_rows.from_row(r) for r in rows}
        changed = projection.fold(current, fresh)
        await conn.executemany(
            escalation_rows.UPSERT, [escalation_rows.to_params(v) for v in changed.values()]
        )

    @staticmethod
    async def _project_reports(conn: Any, ids: list[str], fresh: Sequence[Fact]) -> None:
        rows = await conn.fetch(
            f"SELECT {report_rows.SELECT_LIST} FROM report_escalations "
            "WHERE escalation_id = ANY($1::text[]) FOR UPDATE",
            ids,
        )
        current = {r["escalation_id"]: report_rows.from_row(r) for r in rows}
        changed = report_projection.fold(current, fresh)
        if changed:
            await conn.executemany(
                report_rows.UPSERT, [report_rows.to_params(v) for v in changed.values()]
            )
