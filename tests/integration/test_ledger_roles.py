"""Acceptance 1, the role matrix: as each ledger role, try every way to change the record.
Only `ledger_app` may INSERT (and SELECT); everything else fails with SQLSTATE 42501, either
as a missing privilege or as the guard's own error."""

from pathlib import Path
from typing import Any

import asyncpg
import pytest

from custody_ledger.adapters.database import Database
from custody_ledger.adapters.fact_writer import FactWriter
from custody_ledger.migrate import migrate
from tests.integration import ledger_harness as harness
from tests.integration.ledger_harness import Urls
from tests.unit.ledger import factories as f

ledger_urls = harness.ledger_urls  # fixture

pytestmark = pytest.mark.timeout(60)

INSERT = (
    "INSERT INTO facts (seq, msg_id, kind, stream, subject, occurred_at, payload, prev_hash,"
    " hash) SELECT max(seq) + 1, 'forged', 'raised', 'X', 'x', now(), '{}', '', '' FROM facts"
)
ATTEMPTS = {
    "SELECT": "SELECT count(*) FROM facts",
    "INSERT": INSERT,
    "UPDATE": "UPDATE facts SET actor = 'mallory' WHERE seq = 1",
    "DELETE": "DELETE FROM facts WHERE seq = 1",
    "TRUNCATE": "TRUNCATE facts",
    "DISABLE TRIGGER": "ALTER TABLE facts DISABLE TRIGGER facts_no_update",
    "DROP TRIGGER": "DROP TRIGGER facts_no_update ON facts",
}
ALLOWED = {
    "owner": set(),  # owns the tables, used only for migrations: may not touch the record
    "app": {"SELECT", "INSERT"},
    "reader": {"SELECT"},
}


async def _seeded(urls: Urls) -> None:
    database = Database(urls.app)
    try:
        await FactWriter(database).append(f.lifecycle("esc-roles"))
    finally:
        await database.close()


async def _attempt(url: str, sql: str) -> str | None:
    """None if `sql` succeeded (rolled back either way), else its SQLSTATE."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute(sql)
            raise _Rollback
    except _Rollback:
        return None
    except asyncpg.PostgresError as exc:
        return str(exc.sqlstate)
    finally:
        await conn.close()


class _Rollback(Exception):
    pass


async def test_only_ledger_app_may_insert_and_every_other_attempt_is_refused(
    ledger_urls: Urls,
) -> None:
    await _seeded(ledger_urls)
    matrix: dict[tuple[str, str], str | None] = {}
    for role in ALLOWED:
        url = getattr(ledger_urls, role)
        for name, sql in ATTEMPTS.items():
            matrix[(role, name)] = await _attempt(url, sql)
    expected = {
        (role, name): None if name in ALLOWED[role] else "42501"
        for role in ALLOWED
        for name in ATTEMPTS
    }
    assert matrix == expected
    # ...and nothing above left a trace: still the seeded chain, triggers all enabled.
    conn = await asyncpg.connect(ledger_urls.admin)
    try:
        assert await conn.fetchval("SELECT count(*) FROM facts") == 7
        triggers = await conn.fetch(
            "SELECT tgname, tgenabled::text AS tgenabled FROM pg_trigger"
            " WHERE tgrelid = 'facts'::regclass"
        )
        assert {(t["tgname"], t["tgenabled"]) for t in triggers} == {
            ("facts_no_update", "O"),
            ("facts_no_delete", "O"),
            ("facts_no_truncate", "O"),
        }
    finally:
        await conn.close()


GUARD_ATTEMPTS = [
    # The owner cannot swap the trigger function for a no-op: a superuser owns it.
    (
        "owner",
        "CREATE OR REPLACE FUNCTION facts_append_only() RETURNS trigger"
        " LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
    ),
    ("owner", "ALTER TABLE facts RENAME TO facts_old"),
    ("owner", "DROP TABLE facts CASCADE"),
    ("owner", "ALTER TRIGGER facts_no_update ON facts RENAME TO gone"),
    ("owner", "ALTER TABLE chain_head DISABLE TRIGGER chain_head_forward"),
    ("owner", "UPDATE chain_head SET seq = 0, hash = repeat('0', 64)"),
    ("owner", "DELETE FROM reviews"),
    # ledger_app owns nothing and can create nothing.
    ("app", "CREATE TABLE mine (x int)"),
    ("app", "CREATE TEMP TABLE mine (x int)"),
    ("app", "UPDATE chain_head SET seq = 1, hash = (SELECT hash FROM facts WHERE seq = 1)"),
    ("app", "DELETE FROM escalations"),
    ("app", "UPDATE ledger_checkpoints SET seq = 0"),
    ("app", "DELETE FROM reviews"),
    ("reader", "UPDATE escalations SET state = 'resolved'"),
]


async def test_no_role_can_weaken_the_guard_or_move_the_head_back(ledger_urls: Urls) -> None:
    await _seeded(ledger_urls)
    outcomes = [
        (role, sql, await _attempt(getattr(ledger_urls, role), sql)) for role, sql in GUARD_ATTEMPTS
    ]
    assert [o for o in outcomes if o[2] != "42501"] == []


async def test_ledger_app_owns_nothing(ledger_urls: Urls) -> None:
    conn = await asyncpg.connect(ledger_urls.admin)
    try:
        owned = await conn.fetchval(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner"
            " WHERE r.rolname = 'ledger_app'"
        )
        assert owned == 0
        rows: list[Any] = await conn.fetch(
            "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles"
            " WHERE rolname LIKE 'ledger_%'"
        )
        assert {r["rolname"] for r in rows} == {"ledger_owner", "ledger_app", "ledger_reader"}
        assert not any(r["rolsuper"] or r["rolcreaterole"] or r["rolcreatedb"] for r in rows)
    finally:
        await conn.close()


async def test_an_older_database_is_handed_to_the_owner_and_guarded(
    fresh_database: str, tmp_path: Path
) -> None:
    """A ledger migrated before the roles existed (everything owned by the superuser)."""
    conn = await asyncpg.connect(fresh_database)
    try:
        from custody_ledger.migrate import migrations

        await conn.execute("CREATE TABLE schema_migrations (version text PRIMARY KEY,"
                           " applied_at timestamptz NOT NULL DEFAULT now())")  # fmt: skip
        for version, sql in migrations()[:2]:
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
    finally:
        await conn.close()
    urls = await migrate(fresh_database, role_secrets=tmp_path / "roles.json")
    upgraded = Urls(fresh_database, urls["app"], urls["owner"], urls["reader"])
    await _seeded(upgraded)
    assert await _attempt(upgraded.owner, ATTEMPTS["DROP TRIGGER"]) == "42501"
    assert await _attempt(upgraded.app, INSERT) is None
