"""The policy in KV: `current` names the version, `v.<version>` holds each document."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from custody.policy.loader import policy_version
from custody.policy.model import Policy

CURRENT_KEY = "current"


@dataclass(frozen=True)
class StoredPolicy:
    version: str
    policy: Policy
    author: str
    applied_at: str


async def apply_policy(kv: KeyValue, policy: Policy, author: str, now: datetime) -> StoredPolicy:
    version = policy_version(policy)
    document = {
        "version": version,
        "author": author,
        "applied_at": now.isoformat(),
        "policy": policy.model_dump(mode="json"),
    }
    await kv.put(f"v.{version}", json.dumps(document).encode())
    await kv.put(CURRENT_KEY, version.encode())
    return StoredPolicy(version, policy, author, now.isoformat())


async def load_version(kv: KeyValue, version: str) -> StoredPolicy:
    entry = await kv.get(f"v.{version}")
    assert entry.value is not None
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
    so a newly applied policy is picked up live without a restart."""

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
            assert entry.value is not None
            version = entry.value.decode()
            if self._stored is None or self._stored.version != version:
                self._stored = await self.version(version)
            self._checked_at = monotonic_now
        return self._stored

    async def version(self, version: str) -> StoredPolicy:
        if version not in self._versions:
            self._versions[version] = await load_version(self._kv, version)
        return self._versions[version]
