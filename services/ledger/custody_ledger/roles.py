"""The ledger's three Postgres roles, and what only a superuser can set up for them.

- `ledger_owner` owns every table and runs the migrations (migrate.py does `SET ROLE`), and
  nothing else. Even it cannot write to the record: see migrations/0003_roles.sql.
- `ledger_app` is what the ledger service logs in as: INSERT and SELECT on the record, owns
  nothing, cannot create anything (no CREATE on the schema, no TEMP).
- `ledger_reader` may only SELECT (auditors, `custody ledger verify` outside dev).

A superuser creates them, tightens the database, and installs guard.sql: event triggers that
stop even the owner from disabling or dropping the record's triggers. In dev, `custody up`
does all of it with the embedded superuser, and keeps a generated password per role in
`DIR/ledger-roles.json` (0600).
"""

from __future__ import annotations

import json
import os
import secrets
from importlib import resources
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlsplit, urlunsplit

OWNER: Final = "ledger_owner"
APP: Final = "ledger_app"
READER: Final = "ledger_reader"
ROLES: Final = {"owner": OWNER, "app": APP, "reader": READER}

# The record: the guard refuses ALTER TABLE and DROP on these (and their triggers).
PROTECTED_TABLES: Final = ("facts", "chain_head", "ledger_checkpoints", "reviews")
# Tables created before the roles existed (by whoever migrated then): handed to the owner.
_LEGACY_TABLES: Final = ("schema_migrations", "facts", "chain_head", "escalations")


def dev_passwords(path: Path) -> dict[str, str]:
    """One random password per role, created once per data dir and kept (0600) in `path`."""
    existing: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    passwords = {role: existing.get(role) or secrets.token_urlsafe(24) for role in ROLES.values()}
    if passwords != existing:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(passwords, indent=2) + "\n")
        tmp.replace(path)
    return passwords


def role_url(database_url: str, role: str, password: str) -> str:
    """`database_url` (host, port, database, options) logged in as `role`."""
    parts = urlsplit(database_url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{quote(role, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def role_urls(database_url: str, passwords: dict[str, str]) -> dict[str, str]:
    """{"owner", "app", "reader"} -> URL."""
    return {key: role_url(database_url, role, passwords[role]) for key, role in ROLES.items()}


async def bootstrap(conn: Any, passwords: dict[str, str] | None) -> None:
    """As a superuser: the roles (passwords set when given), database and schema rights, and
    the owner's ownership of tables an older version created as someone else."""
    database = await conn.fetchval("SELECT current_database()")
    for role in ROLES.values():
        if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            await conn.execute(f"CREATE ROLE {role} LOGIN")
        if passwords is not None:
            # Utility statements take no parameters; the password is quoted by Postgres.
            literal = await conn.fetchval("SELECT quote_literal($1)", passwords[role])
            await conn.execute(f"ALTER ROLE {role} LOGIN PASSWORD {literal}")
    db = '"' + str(database).replace('"', '""') + '"'
    await conn.execute(
        f"REVOKE CREATE, TEMPORARY ON DATABASE {db} FROM PUBLIC;"
        f" GRANT CONNECT ON DATABASE {db} TO {OWNER}, {APP}, {READER};"
        f" REVOKE CREATE ON SCHEMA public FROM PUBLIC;"
        f" GRANT USAGE, CREATE ON SCHEMA public TO {OWNER};"
        f" GRANT USAGE ON SCHEMA public TO {APP}, {READER};"
    )
    for table in _LEGACY_TABLES:
        owner = await conn.fetchval(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = $1",
            table,
        )
        if owner is not None and owner != OWNER:
            await conn.execute(f"ALTER TABLE public.{table} OWNER TO {OWNER}")


async def install_guard(conn: Any) -> None:
    """As a superuser, after the migrations: guard.sql over the record's tables."""
    rows = await conn.fetch(
        "SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relname = ANY($1::text[])",
        list(PROTECTED_TABLES),
    )
    oids = ", ".join(str(int(r["oid"])) for r in rows)
    names = ", ".join(f"'public.{r['relname']}'" for r in rows)  # catalog names: no quotes
    sql = (resources.files("custody_ledger") / "guard.sql").read_text(encoding="utf-8")
    sql = sql.replace("/*PROTECTED_OIDS*/", oids).replace("/*PROTECTED_NAMES*/", names)
    await conn.execute(sql)


async def is_superuser(conn: Any) -> bool:
    return bool(await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
