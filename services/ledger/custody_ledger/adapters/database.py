"""The Postgres pool: created on first use, and kept across restarts.

A Postgres outage must only pause the ledger, so nothing here connects at import or start:
`pool()` retries creation on every call until it works, and asyncpg replaces a pooled
connection that died with its server on the next acquire. The service never migrates: it logs
in as `ledger_app`, which cannot create anything; `custody provision` migrates (migrate.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import structlog

from custody_ledger import roles
from custody_ledger.adapters.outage import Unavailable

log = structlog.get_logger(__name__)

# Errors that mean "Postgres is not there right now" rather than "this data is wrong".
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)


async def init_connection(conn: Any) -> None:
    for name in ("jsonb", "json"):
        await conn.set_type_codec(name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


class Database:
    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 4) -> None:
        self.url = url
        self._min_size = min_size
        self._max_size = max_size
        self._pool: Any | None = None  # asyncpg.Pool (untyped library)
        self._lock = asyncio.Lock()

    async def pool(self) -> Any:
        if self._pool is not None:
            return self._pool
        async with self._lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self.url,
                    min_size=self._min_size,
                    max_size=self._max_size,
                    init=init_connection,
                    command_timeout=10,
                    timeout=5,
                )
                await self._warn_if_privileged(self._pool)
        return self._pool

    @staticmethod
    async def _warn_if_privileged(pool: Any) -> None:
        """Running as the owner or a superuser works, but gives up the role separation."""
        async with pool.acquire() as conn:
            role = await conn.fetchrow(
                "SELECT rolname, rolsuper FROM pg_roles WHERE rolname = current_user"
            )
        if role["rolsuper"] or role["rolname"] == roles.OWNER:
            log.warning("ledger.privileged_role", role=role["rolname"], expected="ledger_app")
        log.info("ledger.database_ready", role=role["rolname"])

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        """A pooled connection; connection-level failures surface as `Unavailable`."""
        try:
            pool = await self.pool()
            async with pool.acquire(timeout=5) as conn:
                yield conn
        except OUTAGE_ERRORS as exc:
            raise Unavailable(f"postgres unavailable: {exc!r}") from exc

    async def ping(self) -> bool:
        try:
            async with self.connection() as conn:
                await conn.fetchval("SELECT 1", timeout=2)
        except (Unavailable, asyncpg.PostgresError):
            return False
        return True

    async def close(self, timeout_s: float = 10.0) -> None:
        """Close gracefully; a connection still busy after `timeout_s` (a transaction stuck on
        a dead server) is cut, so shutting down never hangs. Uncommitted work is redelivered."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), timeout_s)
            except TimeoutError:
                log.warning("ledger.database_close_timeout", timeout_s=timeout_s)
                pool.terminate()
