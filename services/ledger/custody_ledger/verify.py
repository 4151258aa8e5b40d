"""`custody ledger verify`: recompute the hash chain from Postgres and report the first break."""

from __future__ import annotations

from typing import Any

import asyncpg

from custody_ledger.adapters.database import init_connection
from custody_ledger.adapters.reads import read_chain
from custody_ledger.domain.chain import verify


async def verify_ledger(database_url: str) -> dict[str, Any]:
    """{"ok", "entries", "first_bad_seq", "reason"} as CONTRACT.md names them."""
    conn = await asyncpg.connect(database_url)
    try:
        await init_connection(conn)
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            links, head = await read_chain(conn)
    finally:
        await conn.close()
    return verify(links, head).as_json()
