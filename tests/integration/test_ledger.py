"""The ledger against real NATS and Postgres: it records every fact once, in a hash chain
nobody can edit, keeps the projection right whatever the arrival order, and serves it."""

import asyncio
import itertools
from collections.abc import Sequence
from pathlib import Path

import asyncpg
import nats
import pytest

from custody import subjects
from custody.bus.provisioning import consumer_config
from custody.bus.publishing import MSG_ID_HEADER, TYPE_HEADER
from custody.runtime.nats_server import NatsServer
from custody.runtime.postgres import PostgresServer
from custody_ledger import handlers
from custody_ledger.adapters.fact_writer import FactWriter
from custody_ledger.domain.chain import GENESIS
from custody_ledger.domain.facts import Fact
from custody_ledger.migrate import migrate
from custody_ledger.verify import verify_ledger
from tests.integration import ledger_harness as harness
from tests.integration.ledger_harness import (
    Ledger,
    Urls,
    eventually,
    new_id,
    start_ledger,
    stop_ledger,
)
from tests.integration.ledger_harness import has_facts as _has
from tests.unit.ledger import factories as f

bus, ledger, ledger_urls = harness.bus, harness.ledger, harness.ledger_urls  # fixtures

pytestmark = pytest.mark.timeout(60)


class CrashAfterCommit:
    """The real writer, but the first batch holding `msg_id` "crashes" after its COMMIT:
    the handler naks it, so JetStream really redelivers an already-recorded fact."""

    def __init__(self, inner: FactWriter, msg_id: str) -> None:
        self.inner, self.msg_id, self.seen = inner, msg_id, 0

    async def append(self, facts: Sequence[Fact]) -> int:
        new = await self.inner.append(facts)
        if any(fact.msg_id == self.msg_id for fact in facts):
            self.seen += 1
            if self.seen == 1:
                raise ConnectionResetError("simulated crash after commit")
        return new


# --- recording and projection -----------------------------------------------------------


async def test_facts_in_any_order_are_recorded_projected_and_served(ledger: Ledger) -> None:
    eid = new_id()
    sent = f.lifecycle_messages(eid)
    # Newest custody fact first, the raise last: streams give no order across each other.
    for message in reversed(sent):
        await ledger.publish(message)

    await eventually(lambda: _has(ledger, eid, len(sent)))
    rows = await ledger.fetch(
        "SELECT msg_id, kind, actor, trace_id, stream FROM facts WHERE escalation_id = $1", eid
    )
    assert sorted(r["msg_id"] for r in rows) == sorted(m.event_id for _, m in sent)
    kinds = {r["kind"]: r for r in rows}
    assert set(kinds) == {
        "raised", "routed", "offered", "page_requested", "page_sent", "command", "acknowledged",
    }  # fmt: skip
    assert kinds["raised"]["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert kinds["acknowledged"]["actor"] == "bob"
    assert kinds["page_sent"]["stream"] == subjects.PAGES

    [view] = await ledger.fetch("SELECT * FROM escalations WHERE escalation_id = $1", eid)
    assert (view["state"], view["custodian"], view["version"]) == ("accepted", "bob", 2)
    assert (view["title"], view["severity"], view["raised_by"]) == (
        "checkout-api auth-chain-break",
        "red",
        "monitor-1",
    )
    assert (view["team"], view["policy_version"], view["rule"]) == ("payments", "p-1", "checkout")
    assert view["people"] == ["bob"]
    assert view["opened_at"] == f.at(0)

    shown = await ledger.get(f"/v1/escalations/{eid}", "bob")
    assert shown.status_code == 200, shown.text
    doc = shown.json()
    assert doc["state"] == "accepted"
    assert doc["proof"]["diagnosis"] == "JWT signing key rotated; all sessions rejected"
    assert doc["proof"]["reasoning"].startswith("Thresholds fired: customer impact")
    assert doc["routing"]["rule"] == "checkout"
    assert [e["kind"] for e in doc["timeline"]] == [
        "raised", "routed", "offered", "page_requested", "page_sent", "command", "acknowledged",
    ]  # fmt: skip
    page = next(e for e in doc["timeline"] if e["kind"] == "page_sent")
    assert (page["detail"]["recipient"], page["detail"]["channel"], page["detail"]["level"]) == (
        "bob",
        "sms",
        1,
    )

    trace = (await ledger.get(f"/v1/escalations/{eid}/trace", "dave")).json()
    assert trace["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert [h["service"] for h in trace["hops"]] == [
        "intake", "router", "escalator", "escalator", "notifier", "intake", "escalator",
    ]  # fmt: skip
    assert trace["hops"][1]["latency_ms"] == 50.0

    inbox = (await ledger.get("/v1/inbox", "bob")).json()
    assert [i["escalation_id"] for i in inbox if i["escalation_id"] == eid] == [eid]
    assert eid not in {i["escalation_id"] for i in (await ledger.get("/v1/inbox", "carol")).json()}


async def test_visibility_and_auth_errors(ledger: Ledger) -> None:
    eid = new_id()
    for message in f.lifecycle_messages(eid)[:3]:
        await ledger.publish(message)
    await eventually(lambda: _has(ledger, eid, 3))

    for who in ("bob", "dave", "monitor-1"):  # holder, admin, raiser (an agent)
        assert (await ledger.get(f"/v1/escalations/{eid}", who)).status_code == 200, who
    hidden = await ledger.get(f"/v1/escalations/{eid}", "carol")
    assert hidden.status_code == 404
    assert hidden.json()["error_code"] == "not_found"
    assert (await ledger.get("/v1/escalations/esc-nope", "dave")).status_code == 404

    missing = await ledger.get(f"/v1/escalations/{eid}", None)
    assert missing.status_code == 401
    assert missing.json()["error_code"] == "unauthorized"
    assert missing.json()["field"] == "authorization"
    bad = await ledger.http.get("/v1/inbox", headers={"Authorization": "Bearer not-a-token"})
    assert (bad.status_code, bad.json()["error_code"]) == (401, "unauthorized")

    listed = {
        i["escalation_id"] for i in (await ledger.get("/v1/escalations", "carol")).json()["items"]
    }
    assert eid not in listed  # the SQL filter agrees with domain/visibility
    listed = {
        i["escalation_id"] for i in (await ledger.get("/v1/escalations", "bob")).json()["items"]
    }
    assert eid in listed

    invalid = await ledger.get("/v1/escalations?state=bogus", "bob")
    assert (invalid.status_code, invalid.json()["field"]) == (400, "state")


async def test_list_is_newest_first_with_a_cursor(ledger: Ledger) -> None:
    raiser = "monitor-1"
    ids = [new_id() for _ in range(3)]
    for n, eid in enumerate(ids):
        await ledger.publish(f.raised_message(eid, by=raiser, s=3600 * 24 * 365 + n))
    await eventually(lambda: _has(ledger, ids[-1], 1))
    await eventually(lambda: _has(ledger, ids[0], 1))

    first = (await ledger.get("/v1/escalations?limit=2&state=open", raiser)).json()
    assert [i["escalation_id"] for i in first["items"]] == [ids[2], ids[1]]
    assert first["next_cursor"]
    second = (
        await ledger.get(
            f"/v1/escalations?limit=2&state=open&cursor={first['next_cursor']}", raiser
        )
    ).json()
    assert second["items"][0]["escalation_id"] == ids[0]
    assert all(i["state"] == "open" for i in first["items"] + second["items"])


async def test_an_undecodable_message_is_still_recorded(ledger: Ledger) -> None:
    eid = new_id()
    await ledger.broker.publish(
        b"\x00{not json",
        subjects.incident_accepted(eid),
        headers={MSG_ID_HEADER: f"{eid}:garbage", TYPE_HEADER: "IncidentAccepted"},
        stream=subjects.INCIDENTS,
        timeout=5,
    )
    await eventually(lambda: _has(ledger, eid, 1))
    [row] = await ledger.fetch(
        "SELECT kind, msg_id, payload FROM facts WHERE escalation_id = $1", eid
    )
    assert (row["kind"], row["msg_id"]) == ("undecodable", f"{eid}:garbage")
    assert row["payload"]["body"] == "\ufffd{not json"
    assert row["payload"]["type"] == "IncidentAccepted"


# --- exactly once, durability -------------------------------------------------------------


async def test_a_redelivered_fact_is_recorded_once(
    bus: nats.NATS, nats_server: NatsServer, ledger_urls: Urls, tmp_path: Path
) -> None:
    eid = new_id()
    sent = f.raised_message(eid)
    crash: list[CrashAfterCommit] = []

    def wrap(writer: FactWriter) -> handlers.Writer:
        crash.append(CrashAfterCommit(writer, sent[1].event_id))
        return crash[0]

    tokens = bus.tokens  # type: ignore[attr-defined]
    running = await start_ledger(nats_server.url, ledger_urls, tokens, wrap, state_dir=tmp_path)
    try:
        await running.publish(sent)

        async def redelivered_and_acked() -> bool:
            if crash[0].seen < 2:
                return False
            info = await bus.jetstream().consumer_info(subjects.INCIDENTS, "ledger-incidents")
            return info.num_ack_pending == 0 and info.num_redelivered == 0

        await eventually(redelivered_and_acked)
        assert crash[0].seen == 2  # committed, "crashed", came back once, then acked
        rows = await running.fetch("SELECT seq FROM facts WHERE msg_id = $1", sent[1].event_id)
        assert len(rows) == 1
        assert (await verify_ledger(ledger_urls.reader))["ok"]
    finally:
        await stop_ledger(running)


async def test_a_postgres_outage_pauses_the_ledger_and_loses_nothing(
    ledger: Ledger, postgres_server: PostgresServer
) -> None:
    before = new_id()
    await ledger.publish(f.raised_message(before))
    await eventually(lambda: _has(ledger, before, 1))

    postgres_server.stop("fast")
    try:
        eid = new_id()
        for message in f.lifecycle_messages(eid):
            await ledger.publish(message)  # paging goes on: the bus does not need Postgres
        await asyncio.sleep(1.0)  # batches fail and are nakked meanwhile
        readiness = (await ledger.http.get("/readyz")).json()
        assert readiness["checks"]["postgres"] is False
    finally:
        postgres_server.start()

    await eventually(lambda: _has(ledger, eid, 7), within=20)
    [view] = await ledger.fetch("SELECT state FROM escalations WHERE escalation_id = $1", eid)
    assert view["state"] == "accepted"
    assert (await verify_ledger(ledger.url))["ok"]
    ready = await ledger.http.get("/readyz")
    assert ready.status_code == 200, ready.text


class FailFirst:
    """The real writer behind `failures` failed writes of `msg_id` (Postgres "down")."""

    def __init__(self, inner: FactWriter, msg_id: str, failures: int) -> None:
        self.inner, self.msg_id, self.left, self.calls = inner, msg_id, failures, 0

    async def append(self, facts: Sequence[Fact]) -> int:
        if any(fact.msg_id == self.msg_id for fact in facts):
            self.calls += 1
            if self.left > 0:
                self.left -= 1
                raise ConnectionRefusedError("simulated outage")
        return await self.inner.append(facts)


async def test_a_fact_past_max_deliver_is_held_not_dropped(
    bus: nats.NATS, nats_server: NatsServer, ledger_urls: Urls, tmp_path: Path
) -> None:
    eid = new_id()
    sent = f.raised_message(eid)
    spec = subjects.ConsumerSpec(
        subjects.INCIDENTS,
        f"ledger-test-{eid}",
        subjects.incident_accepted(eid),
        ack_wait_s=5.0,
        max_deliver=2,
    )
    await bus.jetstream().add_consumer(spec.stream, consumer_config(spec))
    flaky: list[FailFirst] = []

    def wrap(writer: FactWriter) -> handlers.Writer:
        flaky.append(FailFirst(writer, sent[1].event_id, failures=3))
        return flaky[0]

    tokens = bus.tokens  # type: ignore[attr-defined]
    running = await start_ledger(
        nats_server.url, ledger_urls, tokens, wrap, specs=(spec,), state_dir=tmp_path
    )
    try:
        await running.publish(sent)
        await eventually(lambda: _has(running, eid, 1), within=15)
        assert flaky[0].calls == 4  # two deliveries, then held past max_deliver until it worked
        info = await bus.jetstream().consumer_info(spec.stream, spec.durable)
        assert (info.num_ack_pending, info.num_pending) == (0, 0)
    finally:
        await stop_ledger(running)
        await bus.jetstream().delete_consumer(spec.stream, spec.durable)


# --- the chain and its guard --------------------------------------------------------------


async def test_facts_are_hash_chained_and_append_only(ledger: Ledger) -> None:
    eid = new_id()
    for message in f.lifecycle_messages(eid):
        await ledger.publish(message)
    await eventually(lambda: _has(ledger, eid, 7))

    rows = await ledger.fetch("SELECT seq, prev_hash, hash FROM facts ORDER BY seq")
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0]["prev_hash"] == GENESIS
    for previous, row in itertools.pairwise(rows):
        assert row["prev_hash"] == previous["hash"]
    [head] = await ledger.fetch("SELECT seq, hash FROM chain_head")
    assert (head["seq"], head["hash"]) == (rows[-1]["seq"], rows[-1]["hash"])
    assert await verify_ledger(ledger.url) == {
        "ok": True,
        "entries": len(rows),
        "first_bad_seq": None,
        "reason": "",
        "checkpoints": 0,
        "checkpoint_sources": {"file": None},
    }

    conn = await asyncpg.connect(ledger.urls.admin)
    try:
        for statement in (
            "UPDATE facts SET actor = 'mallory' WHERE seq = 1",
            "DELETE FROM facts WHERE seq = 1",
            "TRUNCATE facts",
        ):
            # ledger_app has no such privilege; even a superuser meets the triggers.
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
                await ledger.fetch(statement)
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await conn.execute(statement)
        assert len(await ledger.fetch("SELECT seq FROM facts")) == len(rows)

        # A superuser can switch the guard off, and still cannot edit unnoticed.
        await conn.execute("ALTER TABLE facts DISABLE TRIGGER facts_no_update")
        await conn.execute("UPDATE facts SET payload = '{\"edited\": true}' WHERE seq = 2")
    finally:
        await conn.close()
    verdict = await verify_ledger(ledger.url)
    assert (verdict["ok"], verdict["first_bad_seq"]) == (False, 2)


async def test_migrate_is_idempotent(fresh_database: str, tmp_path: Path) -> None:
    secrets = tmp_path / "roles.json"
    first = await migrate(fresh_database, role_secrets=secrets)
    assert await migrate(fresh_database, role_secrets=secrets) == first
    assert set(first) == {"owner", "app", "reader"}
    assert first["app"].startswith("postgresql://ledger_app:")
    assert secrets.stat().st_mode & 0o777 == 0o600
    conn = await asyncpg.connect(fresh_database)
    try:
        versions = [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")]
        assert versions == [
            "0001_facts", "0002_escalations", "0003_roles", "0004_checkpoints_reviews",
            "0005_reports",
        ]  # fmt: skip
        assert await conn.fetchval("SELECT count(*) FROM chain_head") == 1
        owners = {
            r["tableowner"]
            for r in await conn.fetch(
                "SELECT tableowner FROM pg_tables WHERE schemaname = 'public'"
            )
        }
        assert owners == {"ledger_owner"}
    finally:
        await conn.close()


async def test_readyz_and_healthz(ledger: Ledger) -> None:
    assert (await ledger.http.get("/healthz")).json() == {"status": "ok"}
    ready = await ledger.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"nats": True, "consumers": True, "postgres": True}
    assert (
        "/v1/escalations/{escalation_id}"
        in (await ledger.http.get("/openapi.json")).json()["paths"]
    )
