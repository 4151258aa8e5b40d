"""The clients: `CustodyClient` (async), `SyncCustodyClient`, and `LedgerClient` for reads."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any, Self

import httpx
from pydantic_core import to_jsonable_python

from custody.client.event import Event, seconds
from custody.client.transports import CustodyError, HttpTransport, NatsTransport
from custody.contracts import IncidentEvent


@dataclass(frozen=True)
class RaiseResult:
    escalation_id: str
    duplicate: bool
    seen_count: int = 0


def _body_of(event: IncidentEvent | Event | None, fields: dict[str, Any]) -> bytes:
    """The exact bytes every attempt sends. Keyword fields are the older form of the call."""
    if isinstance(event, Event):
        event = event.build()
    if isinstance(event, IncidentEvent):
        return event.model_dump_json(exclude_none=True).encode()
    data = {
        "labels": {},
        "proof": {},
        **{k: v for k, v in fields.items() if v is not None},
        "dedup_key": fields.get("dedup_key") or uuid.uuid4().hex,
    }
    return json.dumps(to_jsonable_python(data)).encode()


class CustodyClient:
    """Talks to intake: over HTTP (`http://…`) or NATS (`nats://…`) for raising, HTTP for the
    rest. `nats_options` go to `nats.connect` (user, password, TLS); `transport` to httpx."""

    def __init__(
        self,
        intake_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        attempts: int = 4,
        nats_options: dict[str, Any] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = HttpTransport(intake_url, token, timeout, attempts, transport)
        self._nats: NatsTransport | None = None
        if intake_url.startswith(("nats://", "tls://")):
            self._nats = NatsTransport(intake_url, token, timeout, attempts, **(nats_options or {}))

    async def raise_incident(
        self, event: IncidentEvent | Event | None = None, **fields: Any
    ) -> RaiseResult:
        """Returns once intake says the event is durable. Keyword fields (title, severity,
        source, dedup_key, service, labels, proof, ...) are accepted instead of an event."""
        body = _body_of(event, fields)
        key = uuid.uuid4().hex  # fixed before the first attempt: every retry reuses it
        if self._nats is not None:
            reply = await self._nats.raise_event(json.loads(body)["source"], body, key)
            if reply.status != "accepted":
                code, field = reply.error_code or "rejected", reply.field or ""
                raise CustodyError(reply.status_code, code, field, reply.message)
            return RaiseResult(reply.escalation_id or "", reply.duplicate, reply.seen_count)
        data = await self._http.request(
            "POST", "/v1/events", body, headers={"Idempotency-Key": key}
        )
        return RaiseResult(
            data["escalation_id"], bool(data.get("duplicate")), int(data.get("seen_count", 0))
        )

    async def heartbeat(self, name: str, interval: str | float | None = None) -> dict[str, Any]:
        """Ping heartbeat `name`; the first ping declares `interval` (seconds, or "30s")."""
        body = {"interval": seconds(interval)} if interval is not None else None
        result: dict[str, Any] = await self._http.request("POST", f"/v1/heartbeats/{name}", body)
        return result

    async def rejections(self, limit: int = 50, source: str | None = None) -> list[Any]:
        query = f"?limit={limit}" + (f"&source={source}" if source else "")
        rows: list[Any] = await self._http.request("GET", f"/v1/rejections{query}")
        return rows

    async def command(self, escalation_id: str, action: str, **body: Any) -> dict[str, Any]:
        key = uuid.uuid4().hex
        result: dict[str, Any] = await self._http.request(
            "POST",
            f"/v1/escalations/{escalation_id}/{action}",
            body,
            headers={"Idempotency-Key": key},
        )
        return result

    async def close(self) -> None:
        await self._http.close()
        if self._nats is not None:
            await self._nats.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


class SyncCustodyClient:
    """The same client for code that is not async; it runs its own event loop."""

    def __init__(self, intake_url: str, token: str, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._client = CustodyClient(intake_url, token, **options)

    def raise_incident(
        self, event: IncidentEvent | Event | None = None, **fields: Any
    ) -> RaiseResult:
        return self._loop.run_until_complete(self._client.raise_incident(event, **fields))

    def heartbeat(self, name: str, interval: str | float | None = None) -> dict[str, Any]:
        return self._loop.run_until_complete(self._client.heartbeat(name, interval))

    def close(self) -> None:
        self._loop.run_until_complete(self._client.close())
        self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class LedgerClient:
    """Reads the record (inbox, show, trace)."""

    def __init__(self, ledger_url: str, token: str, *, timeout: float = 10.0):
        self._http = HttpTransport(ledger_url, token, timeout, 2)

    async def get(self, path: str) -> Any:
        return await self._http.request("GET", path)


def raise_incident_sync(intake_url: str, token: str, **event: Any) -> RaiseResult:
    """One call, for code that is not async."""
    with SyncCustodyClient(intake_url, token) as client:
        return client.raise_incident(**event)
