"""The policy in KV: `current` names the version, `v.<version>` holds each document.

A version's document is written once (create) and never changed, so an escalation that
snapshotted a version can always read exactly what it stood for. Applying a policy moves
`current`; services re-read `current` every few seconds (PolicyCache) and pick it up live.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import datetime

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from custody import observability, subjects
from custody.bus.publishing import headers_for
from custody.contracts import PolicyApplied
from custody.policy.diff import diff_policies
from custody.policy.loader import policy_document, policy_version
from custody.policy.model import Policy

CURRENT_KEY = "current"


@dataclass(frozen=True)
class StoredPolicy:
    version: str
    policy: Policy
    author: str
    applied_at: str


async def apply_policy(kv: KeyValue, policy: Policy, author: str, now: datetime) -> StoredPolicy:
    """Store `policy` (once per version) and make it current."""
    version = policy_version(policy)
    document = {
        "version": version,
        "author": author,
        "applied_at": now.isoformat(),
        "policy": policy_document(policy),
    }
    # Stored before: the same content; keep its first author and time.
    with contextlib.suppress(KeyWrongLastSequenceError):
        await kv.create(f"v.{version}", json.dumps(document).encode())
    await kv.put(CURRENT_KEY, version.encode())
    return StoredPolicy(version, policy, author, now.isoformat())


async def apply_and_record(
    js: JetStreamContext, kv: KeyValue, policy: Policy, author: str, now: datetime
) -> PolicyApplied:
    """Apply, then record the fact in CUSTODY (the ledger consumes `custody.>`). KV first:
    a fact must never claim a version that is not stored. If recording fails, re-running the
    same apply records it (a new event id: the time is part of it)."""
    previous = await load_current(kv)
    version = policy_version(policy)
    try:
        await kv.get(f"v.{version}")
        new = False
    except KeyNotFoundError:
        new = True
    await apply_policy(kv, policy, author, now)
    fact = PolicyApplied(
        event_id=f"policy:{version}:{now.isoformat()}",
        escalation_id="",
        occurred_at=now,
        version=version,
        previous_version=previous.version if previous else None,
        actor=author,
        applied_at=now,
        new=new,
        changes=tuple(str(c) for c in diff_policies(previous.policy if previous else None, policy)),
        document=policy_document(policy),
    )
    await record(js, fact)
    return fact


async def record(js: JetStreamContext, fact: PolicyApplied, attempts: int = 3) -> None:
    """Publish with a PubAck; a retry reuses the event id, so JetStream keeps one copy."""
    last: Exception | None = None
    for _ in range(attempts):
        try:
            await js.publish(
                subjects.policy_applied(fact.version),
                fact.to_json(),
                stream=subjects.CUSTODY,
                headers=headers_for(fact),
                timeout=5.0,
            )
            return
        except Exception as exc:  # nats-py raises plain Error subclasses when disconnected
            last = exc
    raise ConnectionError(f"could not record policy {fact.version} in the ledger: {last!r}")


async def load_version(kv: KeyValue, version: str) -> StoredPolicy:
    entry = await kv.get(f"v.{version}")
    if entry.value is None:
        raise LookupError(f"policy version {version} has no document")
    document = json.loads(entry.value)
    return StoredPolicy(
        version=document["version"],
        policy=Policy.model_validate(document["policy"]),
        author=document["author"],
        applied_at=document["applied_at"],
    )


async def load_current(kv: KeyValue) -> StoredPolicy | None:
    try:
        entry = await kv.get(CURRENT_KEY)
    except KeyNotFoundError:
        return None
    if entry.value is None:
        return None
    return await load_version(kv, entry.value.decode())


class PolicyCache:
    """Keeps the current policy, re-reading the tiny `current` key at most every `ttl_s`,
    so a newly applied policy is picked up live without a restart. Versions are immutable,
    so every version ever loaded stays cached (an escalation may ask for its snapshot)."""

    def __init__(self, kv: KeyValue, ttl_s: float = 2.0) -> None:
        self._kv = kv
        self._ttl_s = ttl_s
        self._stored: StoredPolicy | None = None
        self._checked_at = float("-inf")
        self._versions: dict[str, StoredPolicy] = {}

    async def current(self, monotonic_now: float) -> StoredPolicy:
        if self._stored is None or monotonic_now - self._checked_at > self._ttl_s:
            try:
                entry = await self._kv.get(CURRENT_KEY)
            except KeyNotFoundError as exc:
                raise LookupError("no policy applied: run `custody policy apply`") from exc
            if entry.value is None:
                raise LookupError("no policy applied: run `custody policy apply`")
            version = entry.value.decode()
            if self._stored is None or self._stored.version != version:
                self._stored = await self.version(version)
                observability.set_policy_version(version)
            self._checked_at = monotonic_now
        return self._stored

    async def version(self, version: str) -> StoredPolicy:
        if version not in self._versions:
            self._versions[version] = await load_version(self._kv, version)
        return self._versions[version]
