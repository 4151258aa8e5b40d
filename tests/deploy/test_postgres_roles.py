"""deploy/postgres/roles.sql against a real Postgres: it sets up what the ledger's own bootstrap
(custody_ledger.roles) sets up; the owner migrates; the app role appends and reads but can
neither rewrite the record nor disarm what guards it; the reader only reads."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from custody.cli.deploy import DB_ROLES
from custody.runtime.postgres import PostgresServer
from custody.runtime.postgres_host import postgres_binaries
from custody_ledger import roles
from custody_ledger.migrate import migrate

ROLES_SQL = Path(__file__).parents[2] / "deploy" / "postgres" / "roles.sql"


def as_role(url: str, role: str) -> str:
    """The test cluster trusts loopback, so passwords are not checked here; privileges are."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}"))


def apply_roles_sql(url: str) -> None:
    psql = postgres_binaries().path("psql")
    if not psql.is_file():
        pytest.skip(f"no psql next to {psql.parent}")
    passwords = [f"{key}_password=pw-{key}" for key in DB_ROLES]
    subprocess.run(
        [
            str(psql),
            url,
            *(arg for pw in passwords for arg in ("-v", pw)),
            "-q",
            "-f",
            str(ROLES_SQL),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


async def append_fact(conn: asyncpg.Connection, msg_id: str) -> None:
    async with conn.transaction():
        head = await conn.fetchrow("SELECT seq, hash FROM chain_head FOR UPDATE")
        await conn.execute(
            "INSERT INTO facts (seq, msg_id, kind, stream, subject, occurred_at,"
            " payload, prev_hash, hash) VALUES ($1, $2, 'raised', 'INCIDENTS',"
            " 'incidents.accepted.e1', now(), '{}', $3, $2)",
            head["seq"] + 1,
            msg_id,
            head["hash"],
        )
        await conn.execute("UPDATE chain_head SET seq = $1, hash = $2", head["seq"] + 1, msg_id)


@pytest.fixture
def roles_database(fresh_database: str) -> str:
    """roles.sql applied (twice: re-runs are safe), migrated by ledger_owner, one fact in (row
    triggers fire only on rows, so an empty record would prove nothing)."""
    apply_roles_sql(fresh_database)
    apply_roles_sql(fresh_database)

    async def prepare() -> None:
        await migrate(as_role(fresh_database, roles.OWNER))
        conn = await asyncpg.connect(as_role(fresh_database, roles.APP))
        try:
            await append_fact(conn, "first")
        finally:
            await conn.close()

    asyncio.run(prepare())
    return fresh_database


async def _outcome(url: str, sql: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    except asyncpg.PostgresError as exc:
        return type(exc).__name__
    finally:
        await conn.close()
    return "succeeded"


def test_the_role_names_are_the_ledgers() -> None:
    assert roles.ROLES == DB_ROLES
    for role in DB_ROLES.values():
        assert f"CREATE ROLE {role} LOGIN" in ROLES_SQL.read_text()


_PRIVILEGES = """
SELECT r AS role,
       has_database_privilege(r, current_database(), 'CONNECT') AS connect,
       has_database_privilege(r, current_database(), 'CREATE') AS create_schema,
       has_database_privilege(r, current_database(), 'TEMPORARY') AS temporary,
       has_schema_privilege(r, 'public', 'USAGE') AS usage,
       has_schema_privilege(r, 'public', 'CREATE') AS create_table
  FROM unnest($1::text[]) AS r
"""


async def _privileges(url: str) -> list[tuple[object, ...]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(_PRIVILEGES, ["public", *DB_ROLES.values()])
        logins = await conn.fetch(
            "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles"
            " WHERE rolname = ANY($1::text[]) ORDER BY rolname",
            list(DB_ROLES.values()),
        )
    finally:
        await conn.close()
    return [tuple(r.values()) for r in rows] + [tuple(r.values()) for r in logins]


@pytest.fixture
def second_database(postgres_server: PostgresServer) -> Iterator[str]:
    name = "roles_parity"
    postgres_server.drop_database(name)
    yield postgres_server.create_database(name)
    postgres_server.drop_database(name)


def test_roles_sql_grants_what_the_ledgers_bootstrap_grants(
    fresh_database: str, second_database: str
) -> None:
    async def bootstrap(url: str) -> None:
        conn = await asyncpg.connect(url)
        try:
            await roles.bootstrap(conn, None)
        finally:
            await conn.close()

    apply_roles_sql(fresh_database)
    asyncio.run(bootstrap(second_database))
    assert asyncio.run(_privileges(fresh_database)) == asyncio.run(_privileges(second_database))


def test_app_role_appends_and_reads(roles_database: str) -> None:
    async def scenario() -> tuple[int, int]:
        conn = await asyncpg.connect(as_role(roles_database, roles.APP))
        try:
            await append_fact(conn, "second")
            facts = await conn.fetchval("SELECT count(*) FROM facts")
            escalations = await conn.fetchval("SELECT count(*) FROM escalations")
        finally:
            await conn.close()
        return int(facts), int(escalations)

    assert asyncio.run(scenario()) == (2, 0)


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM facts",
        "TRUNCATE facts",
        "UPDATE facts SET kind = 'edited'",
        "DROP TRIGGER facts_no_update ON facts",
        "ALTER TABLE facts DISABLE TRIGGER ALL",
        "DROP TABLE facts",
        "DELETE FROM chain_head",
        "UPDATE chain_head SET seq = 0, hash = repeat('0', 64)",
        "CREATE TABLE shadow (x int)",
        "CREATE TEMP TABLE shadow (x int)",
    ],
)
def test_app_role_cannot_rewrite_or_disarm_the_record(roles_database: str, sql: str) -> None:
    outcome = asyncio.run(_outcome(as_role(roles_database, roles.APP), sql))
    assert outcome == "InsufficientPrivilegeError", f"{sql}: {outcome}"


def test_reader_role_only_reads(roles_database: str) -> None:
    url = as_role(roles_database, roles.READER)
    assert asyncio.run(_outcome(url, "SELECT count(*) FROM facts")) == "succeeded"
    assert asyncio.run(_outcome(url, "INSERT INTO escalations DEFAULT VALUES")) == (
        "InsufficientPrivilegeError"
    )
