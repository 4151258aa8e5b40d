"""Readiness: NATS connected, our durables still exist, Postgres answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from custody import subjects
from custody_ledger.adapters.database import Database

if TYPE_CHECKING:
    from faststream.nats import NatsBroker


class Readiness:
    def __init__(
        self, broker: NatsBroker, database: Database, specs: Sequence[subjects.ConsumerSpec]
    ) -> None:
        self._broker = broker
        self._database = database
        self._specs = specs

    async def checks(self) -> dict[str, bool]:
        nats_ok = await self._broker.ping(timeout=1.0)
        return {
            "nats": nats_ok,
            # A deleted durable makes the pull loop spin silently (notes/jetstream.md).
            "consumers": nats_ok and await self._consumers_exist(),
            "postgres": await self._database.ping(),
        }

    async def _consumers_exist(self) -> bool:
        try:
            js = self._broker.connection.jetstream()
            for spec in self._specs:
                await js.consumer_info(spec.stream, spec.durable, timeout=1.0)
        except Exception:  # not found, timeout, disconnected: all mean "not ready"
            return False
        return True
