"""Apply the numbered SQL files in migrations/ once each, recorded in `schema_migrations`.

Idempotent and safe to run from several replicas at once (a session advisory lock
serialises them). `custody provision` calls `migrate` by module path.
"""

from __future__ import annotations

from importlib import resources
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import structlog

log = structlog.get_logger(__name__)

_LOCK_KEY = 0x6C6564676572  # "ledger"


def migrations() -> list[tuple[str, str]]:
    """(version, sql) for every migrations/NNNN_name.sql, in order."""
    folder = resources.files("custody_ledger.migrations")
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return [(p.name.removesuffix(".sql"), p.read_text(encoding="utf-8")) for p in files]


async def _ensure_database(database_url: str) -> None:
    """Create the database itself when it does not exist yet (a fresh local Postgres)."""
    try:
        conn = await asyncpg.connect(database_url)
    except asyncpg.InvalidCatalogNameError:
        parts = urlsplit(database_url)
        name = parts.path.lstrip("/")
        admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
        try:
            await admin.execute(f'CREATE DATABASE "{name.replace(chr(34), chr(34) * 2)}"')
        except asyncpg.DuplicateDatabaseError:
            pass  # another replica created it first
        finally:
            await admin.close()
        log.info("ledger.database_created", database=name)
    else:
        await conn.close()


async def migrate(database_url: str) -> None:
    await _ensure_database(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            applied = {
                r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")
            }
            for version, sql in migrations():
                if version in applied:
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version) VALUES ($1)", version
                    )
                log.info("ledger.migration_applied", version=version)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        await conn.close()
