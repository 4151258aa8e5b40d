"""Policy end to end: `explain` agrees with the live router, and a policy applied while
escalations run leaves them on their snapshot while new ones use the new version."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest
from nats.js.errors import NotFoundError

from custody import subjects
from custody.bus.publishing import TYPE_HEADER
from custody.contracts import IncidentAccepted, Message, RoutingDecided, fact_from_json
from tests.e2e.conftest import POLICY, System

pytestmark = pytest.mark.e2e
ENVELOPE = {"event_id", "escalation_id", "occurred_at", "traceparent", "tracestate"}
PICKUP_S = 2.5  # services re-read the current policy version at most every 2 s
SNAPSHOT_WAIT_S = 15  # level 1 of the `snap` chain below: long enough to apply in between


def bus_fact(system: System, stream: str, subject: str) -> Message | None:
    """The last message on `subject`, as the pipeline published it (None: not yet)."""

    async def read() -> Message | None:
        nc = await nats.connect(system.stack.admin_nats_url, connect_timeout=5)
        try:
            msg = await nc.jetstream().get_last_msg(stream, subject)
        except NotFoundError:
            return None
        finally:
            await nc.close()
        return fact_from_json((msg.headers or {})[TYPE_HEADER], msg.data or b"")

    return asyncio.run(read())


def ledger_rows(system: System, sql: str, *args: object) -> list[dict[str, Any]]:
    async def query() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(system.stack.database_url)
        try:
            return [dict(row) for row in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return asyncio.run(query())


def test_explain_matches_what_the_live_router_records(system: System, tmp_path: Path) -> None:
    esc = system.raise_incident(severity="yellow", title="checkout slow")
    accepted = system.wait_for(
        "accepted", lambda: bus_fact(system, subjects.INCIDENTS, subjects.incident_accepted(esc))
    )
    live = system.wait_for(
        "routed", lambda: bus_fact(system, subjects.ROUTED, subjects.routed(esc))
    )
    assert isinstance(accepted, IncidentAccepted)
    assert isinstance(live, RoutingDecided)
    event = tmp_path / "event.json"
    event.write_text(accepted.event.model_dump_json())
    at = live.occurred_at.isoformat()  # the instant the live router decided at
    explained = system.cli(
        "policy", "explain", "--event", str(event), "--at", at, "--raised-by", accepted.raised_by
    )
    assert explained["policy_source"] == "applied"
    assert explained["routed"] == live.model_dump(mode="json", exclude=ENVELOPE)

    shown = system.wait_for(
        "routed in ledger",
        lambda: (s := system.cli("show", esc))["routing"].get("policy_version") and s,
    )
    why = explained["routed"]["explanation"]
    assert shown["routing"]["policy_version"] == why["policy_version"]
    assert shown["routing"]["rule"] == why["rule"] == "checkout"


def snap_policy(path: Path, primary: str, secondary: str) -> Path:
    """The e2e policy plus a team `snap` (route: service snapshot) with the given rotation.
    Other tests' teams and routes are untouched, so they see no difference."""
    text = POLICY.read_text()
    team = (
        "  snap:\n    members: [bob, carol]\n    manager: dave\n    last_resort: dave\n"
        "    schedule:\n      timezone: Europe/Stockholm\n"
        f"      primary: {{members: [{primary}]}}\n      secondary: {{members: [{secondary}]}}\n"
    )
    chain = (
        f"  snap:\n    levels:\n      - {{targets: [primary], wait: {SNAPSHOT_WAIT_S}s}}\n"
        "      - {targets: [secondary], wait: 120s}\n"
    )
    route = "  - {id: snapshot, match: {service: snapshot}, team: snap, chain: snap}\n"
    text = text.replace("teams:\n", "teams:\n" + team, 1).replace(
        "chains:\n", "chains:\n" + chain, 1
    )
    path.write_text(text.replace("default_team:", route + "default_team:", 1))
    return path


def first_page(system: System, esc: str) -> str:
    pages = system.wait_for(f"{esc} paged", lambda: system.pages(esc))
    return str(pages[0]["recipient"])


def test_a_new_policy_applies_to_new_escalations_only(system: System, tmp_path: Path) -> None:
    author = f"e2e-{uuid.uuid4().hex[:8]}"
    v1_file = snap_policy(tmp_path / "v1.yaml", primary="bob", secondary="carol")
    v2_file = snap_policy(tmp_path / "v2.yaml", primary="carol", secondary="bob")
    try:
        v1 = system.cli("policy", "apply", str(v1_file), "--author", author)["version"]
        time.sleep(PICKUP_S)
        running = system.raise_incident(service="snapshot")
        assert first_page(system, running) == "bob"

        changes = system.cli("policy", "diff", str(v2_file))["changes"]
        assert {c["path"] for c in changes} == {
            "teams.snap.schedule.primary.members[0]",
            "teams.snap.schedule.secondary.members[0]",
        }
        applied = system.cli("policy", "apply", str(v2_file), "--author", author)
        assert applied["previous_version"] == v1
        time.sleep(PICKUP_S)
        fresh = system.raise_incident(service="snapshot")
        assert first_page(system, fresh) == "carol"  # the new version's primary
        # The running one has not moved on yet, so its next level is decided after the edit.
        assert [p["recipient"] for p in system.pages(running)] == ["bob"]

        # Its snapshot (v1) names carol for level 2; v2 would have said bob.
        system.wait_for(
            "level 2 of the running escalation",
            lambda: len(system.pages(running)) == 2,
            timeout=SNAPSHOT_WAIT_S + 10,
        )
        assert [p["recipient"] for p in system.pages(running)] == ["bob", "carol"]
        assert system.cli("show", running)["routing"]["policy_version"] == v1
        assert system.cli("show", fresh)["routing"]["policy_version"] == applied["version"]

        recorded = system.wait_for(
            "both applies in the ledger",
            lambda: (
                len(
                    rows := ledger_rows(
                        system,
                        "SELECT payload FROM facts WHERE kind = 'policy_applied' AND actor = $1",
                        author,
                    )
                )
                == 2
                and rows
            ),
        )
        versions = {json.loads(row["payload"])["version"] for row in recorded}  # jsonb as text
        assert versions == {v1, applied["version"]}
        for esc in (running, fresh):
            system.cli("ack", esc, "--as", "carol")
    finally:
        system.cli("policy", "apply", str(POLICY), "--author", author)
        time.sleep(PICKUP_S)  # later tests see the session's own policy again
