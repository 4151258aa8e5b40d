"""Who is calling (the `credentials` KV) and who is an admin (the current policy in KV)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nats.js.kv import KeyValue

from custody import clock, subjects
from custody.auth.credentials import Principal, lookup_principal
from custody.policy.store import PolicyCache
from custody_ledger.adapters.outage import Unavailable

if TYPE_CHECKING:
    from faststream.nats import NatsBroker


class Directory:
    """Resolves KV buckets lazily, so it can be built before the broker connects."""

    def __init__(self, broker: NatsBroker) -> None:
        self._broker = broker
        self._policy: PolicyCache | None = None

    async def _bucket(self, name: str) -> KeyValue:
        return await self._broker.key_value(name, declare=False)

    async def principal(self, token: str) -> Principal | None:
        try:
            return await lookup_principal(await self._bucket(subjects.KV_CREDENTIALS), token)
        except Exception as exc:  # nats-py raises many unrelated types while disconnected
            raise Unavailable(f"credentials unavailable: {exc!r}") from exc

    async def admins(self) -> frozenset[str]:
        try:
            if self._policy is None:
                self._policy = PolicyCache(await self._bucket(subjects.KV_POLICY))
            stored = await self._policy.current(clock.monotonic())
        except LookupError:
            return frozenset()  # no policy applied yet: nobody is an admin
        except Exception as exc:
            raise Unavailable(f"policy unavailable: {exc!r}") from exc
        return frozenset(stored.policy.admins)
