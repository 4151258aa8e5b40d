"""The policy in KV against a real nats-server: versions stored once, `current` moved, the
apply recorded as a PolicyApplied fact in CUSTODY, and a new version picked up live.

Each test uses its own KV bucket (the shared `policy` bucket belongs to other tests) and
its own policy content, so versions and fact subjects are unique to the test.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import nats
import pytest
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from custody import subjects
from custody.bus.provisioning import provision_jetstream
from custody.bus.publishing import MSG_ID_HEADER, TYPE_HEADER
from custody.contracts import PolicyApplied, fact_from_json
from custody.policy import Policy, load_policy_text, policy_version
from custody.policy.store import PolicyCache, apply_and_record, load_current, load_version
from custody.provisioning import EXAMPLE_POLICY
from custody.runtime.nats_server import NatsServer

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def unique_policy(manager: str = "dave") -> Policy:
    """The example with an extra person whose name is unique to this test run."""
    text = EXAMPLE_POLICY.read_text().replace("    manager: dave ", f"    manager: {manager} ")
    marker = f"zz-{uuid.uuid4().hex[:8]}"
    extra = f"  {marker}: {{name: Marker, timezone: UTC}}\n\nagents:"
    return load_policy_text(text.replace("\nagents:", f"\n{extra}", 1))


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[tuple[JetStreamContext, KeyValue]]:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await provision_jetstream(js)
    bucket = f"policy_test_{uuid.uuid4().hex[:8]}"
    kv = await js.create_key_value(bucket=bucket, history=5)
    try:
        yield js, kv
    finally:
        await js.delete_key_value(bucket)
        await nc.close()


async def recorded(js: JetStreamContext, version: str) -> tuple[PolicyApplied, dict[str, str]]:
    msg = await js.get_last_msg(subjects.CUSTODY, subjects.policy_applied(version))
    headers = dict(msg.headers or {})
    fact = fact_from_json(headers[TYPE_HEADER], msg.data or b"")
    assert isinstance(fact, PolicyApplied)
    return fact, headers


async def test_apply_stores_the_version_and_records_it_for_the_ledger(
    bus: tuple[JetStreamContext, KeyValue],
) -> None:
    js, kv = bus
    first, second = unique_policy(), unique_policy(manager="carol")
    applied = await apply_and_record(js, kv, first, "alice", NOW)
    assert (applied.version, applied.previous_version, applied.new) == (
        policy_version(first),
        None,
        True,
    )
    fact, headers = await recorded(js, applied.version)
    assert fact == applied
    assert headers[MSG_ID_HEADER] == fact.event_id == f"policy:{fact.version}:{NOW.isoformat()}"
    assert fact.escalation_id == ""
    assert Policy.model_validate(fact.document) == first

    later = await apply_and_record(js, kv, second, "bob", NOW + timedelta(minutes=1))
    assert later.previous_version == applied.version
    assert '~ teams.payments.manager: "dave" → "carol"' in later.changes
    current = await load_current(kv)
    assert current is not None
    assert current.version == policy_version(second)


async def test_a_stored_version_never_changes_and_can_become_current_again(
    bus: tuple[JetStreamContext, KeyValue],
) -> None:
    js, kv = bus
    first, second = unique_policy(), unique_policy(manager="carol")
    await apply_and_record(js, kv, first, "alice", NOW)
    await apply_and_record(js, kv, second, "bob", NOW + timedelta(minutes=1))
    again = await apply_and_record(js, kv, first, "mallory", NOW + timedelta(minutes=2))
    assert again.new is False
    stored = await load_version(kv, again.version)
    assert (stored.author, stored.applied_at) == ("alice", NOW.isoformat())  # first write kept
    fact, _ = await recorded(js, again.version)
    assert (fact.actor, fact.previous_version) == ("mallory", policy_version(second))


async def test_the_cache_picks_up_a_new_version_live_and_keeps_old_snapshots(
    bus: tuple[JetStreamContext, KeyValue],
) -> None:
    js, kv = bus
    first, second = unique_policy(), unique_policy(manager="carol")
    await apply_and_record(js, kv, first, "alice", NOW)
    cache = PolicyCache(kv, ttl_s=2.0)
    assert (await cache.current(100.0)).version == policy_version(first)
    await apply_and_record(js, kv, second, "alice", NOW + timedelta(minutes=1))
    assert (await cache.current(101.0)).version == policy_version(first)  # within the TTL
    assert (await cache.current(102.5)).version == policy_version(second)  # picked up
    snapshot = await cache.version(policy_version(first))
    assert snapshot.policy.teams["payments"].manager == "dave"
