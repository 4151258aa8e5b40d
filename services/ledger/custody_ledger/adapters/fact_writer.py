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

from custody_ledger.adapters import escalation_rows
from custody_ledger.adapters.database import Database
from custody_ledger.domain import chain, projection
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
            links = chain.extend(
                head["seq"],
                head["hash"],
                [(f.msg_id, f.escalation_id, f.kind, f.occurred_at, f.payload) for f in fresh],
            )
            await conn.executemany(
                _INSERT_FACT,
                [
                    (
                        link.seq,
                        f.msg_id,
                        f.escalation_id,
                        f.kind,
                        f.stream,
                        f.subject,
                        f.occurred_at,
                        f.actor,
                        f.trace_id,
                        f.payload,
                        link.prev_hash,
                        link.hash,
                    )
                    for f, link in zip(fresh, links, strict=True)
                ],
            )
            await conn.execute(
                "UPDATE chain_head SET seq = $1, hash = $2 WHERE id = 1",
                links[-1].seq,
                links[-1].hash,
            )
            await self._project(conn, fresh)
        return len(fresh)

    async def _project(self, conn: Any, fresh: Sequence[Fact]) -> None:
        ids = sorted({f.escalation_id for f in fresh if f.escalation_id})
        if not ids:
            return
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
