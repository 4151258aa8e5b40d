"""Apply the numbered SQL files in migrations/ once each, recorded in `schema_migrations`.

`custody provision` calls `migrate` by module path. With a superuser's URL (dev, or a DBA's
first run) it also sets up the three roles (roles.py), runs the migrations as `ledger_owner`
(`SET ROLE`, so the owner owns everything) and installs the guard. With the owner's own URL it
only runs the migrations. Idempotent and safe from several replicas at once (a session
advisory lock serialises them).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import structlog

from custody_ledger import roles

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


async def _apply(conn: Any) -> None:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    applied = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
    for version, sql in migrations():
        if version in applied:
            continue
        async with conn.transaction():
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
        log.info("ledger.migration_applied", version=version)


async def _as_superuser(conn: Any, role_secrets: Path | None) -> None:
    passwords = roles.dev_passwords(role_secrets) if role_secrets is not None else None
    await roles.bootstrap(conn, passwords)
    await conn.execute(f"SET ROLE {roles.OWNER}")
    try:
        await _apply(conn)
    finally:
        await conn.execute("RESET ROLE")
    await roles.install_guard(conn)


async def migrate(database_url: str, role_secrets: Path | None = None) -> dict[str, str]:
    """Migrate; returns {"owner", "app", "reader"} -> URL when `database_url` is a superuser's
    and `role_secrets` is given (the roles' dev passwords are kept there), else {}."""
    await _ensure_database(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        try:
            superuser = await roles.is_superuser(conn)
            if superuser:
                await _as_superuser(conn, role_secrets)
            else:
                await _apply(conn)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        await conn.close()
    if not superuser or role_secrets is None:
        return {}
    return roles.role_urls(database_url, roles.dev_passwords(role_secrets))
