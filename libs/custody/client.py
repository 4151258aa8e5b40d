"""The agent SDK: raise an incident and get its escalation id once it is durably accepted.

    from custody.client import CustodyClient, Event
    client = CustodyClient("http://127.0.0.1:8610", token)  # or "nats://127.0.0.1:4222"
    event = Event("monitor-1", "checkout 5xx", "red").service("checkout").dedup_key("5xx")
    result = await client.raise_incident(event)
    print(result.escalation_id)  # durable: JetStream acknowledged it

Every retry sends the very same bytes with the same `Idempotency-Key`, so a retry after a
timeout is never a second incident. `SyncCustodyClient` is the same for code that is not async.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

import httpx
from pydantic_core import to_jsonable_python

from custody import subjects
from custody.contracts import IncidentEvent, IntakeReply
from custody.contracts.incident import Evidence, Threshold

RETRYABLE = {502, 503, 504}
MAX_BACKOFF_S = 10.0


class CustodyError(Exception):
    """A refusal with its stable error code and field, or an unreachable service."""

    def __init__(self, status: int, error_code: str, field: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}" + (f" (field {field})" if field else ""))
        self.status = status
        self.error_code = error_code
        self.field = field
        self.message = message


@dataclass(frozen=True)
class RaiseResult:
    escalation_id: str
    duplicate: bool
    seen_count: int = 0


class Event:
    """A typed builder for the native event; `build()` validates it before anything is sent."""

    def __init__(self, source: str, title: str, severity: str) -> None:
        self._fields: dict[str, Any] = {"source": source, "title": title, "severity": severity}
        self._labels: dict[str, str] = {}
        self._proof: dict[str, Any] = {}
        self._evidence: list[Evidence] = []
        self._thresholds: list[Threshold] = []

    def dedup_key(self, key: str) -> Self:
        return self._set(self._fields, dedup_key=key)

    def service(self, name: str) -> Self:
        return self._set(self._fields, service=name)

    def customer_impact(self, impacted: bool = True) -> Self:
        return self._set(self._fields, customer_impact=impacted)

    def occurred_at(self, moment: datetime) -> Self:
        return self._set(self._fields, occurred_at=moment)

    def label(self, key: str, value: str) -> Self:
        self._labels[key] = value
        return self

    def signal(self, what: str) -> Self:
        return self._set(self._proof, signal=what)

    def evidence(self, label: str, url: str | None = None, excerpt: str | None = None) -> Self:
        self._evidence.append(Evidence(label=label, url=url, excerpt=excerpt))
        return self

    def diagnosis(self, text: str) -> Self:
        return self._set(self._proof, diagnosis=text)

    def threshold(self, *fired: Threshold | str) -> Self:
        self._thresholds += [Threshold(t) for t in fired]
        return self

    def proposed_action(self, action: str, reversible: bool | None = None) -> Self:
        return self._set(self._proof, proposed_action=action, reversible=reversible)

    def agent_action(self, what: str) -> Self:
        return self._set(self._proof, agent_action=what)

    def runbook(self, url: str) -> Self:
        return self._set(self._proof, runbook_url=url)

    def build(self) -> IncidentEvent:
        """The event; without a dedup key, a fresh one (fixed from here on, for retries)."""
        proof = {**self._proof, "evidence": self._evidence, "thresholds": self._thresholds}
        fields = {"dedup_key": uuid.uuid4().hex, **self._fields}
        return IncidentEvent.model_validate({**fields, "labels": self._labels, "proof": proof})

    def _set(self, target: dict[str, Any], **values: Any) -> Self:
        target.update(values)
        return self


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


def _error(response: httpx.Response) -> CustodyError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return CustodyError(
        response.status_code,
        str(body.get("error_code") or f"http_{response.status_code}"),
        str(body.get("field") or ""),
        str(body.get("message") or body.get("detail") or response.text[:200]),
    )


def _backoff(attempt: int, retry_after: str | float | None) -> float:
    try:
        hinted = float(retry_after) if retry_after is not None else None
    except ValueError:
        hinted = None
    return min(hinted if hinted is not None else 0.5 * 2**attempt, MAX_BACKOFF_S)


class _Http:
    def __init__(self, base_url: str, token: str, timeout: float, attempts: int) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.attempts = attempts

    async def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Retries (on 502/503/504 and connection errors) send the same body and headers."""
        all_headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        content = body if isinstance(body, bytes) else None
        payload = None if isinstance(body, bytes) else body
        if content is not None:
            all_headers["Content-Type"] = "application/json"
        last = CustodyError(0, "unreachable", "", f"{self.base_url}: no attempt made")
        async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout) as http:
            for attempt in range(self.attempts):
                hint: str | None = None
                try:
                    response = await http.request(
                        method, path, content=content, json=payload, headers=all_headers
                    )
                except httpx.HTTPError as exc:
                    last = CustodyError(0, "unreachable", "", f"{self.base_url}: {exc!r}")
                else:
                    if response.status_code < 400:
                        return response.json()
                    last = _error(response)
                    if response.status_code not in RETRYABLE:
                        raise last
                    hint = response.headers.get("Retry-After")
                if attempt + 1 < self.attempts:
                    await asyncio.sleep(_backoff(attempt, hint))
        raise last


class _Nats:
    """Request/reply on `intake.events.<source>`; intake answers after the PubAck."""

    def __init__(self, url: str, token: str, timeout: float, attempts: int, **options: Any):
        self.url, self.token, self.timeout, self.attempts = url, token, timeout, attempts
        self.options = options
        self.nc: Any = None

    async def raise_event(self, source: str, body: bytes, key: str) -> IntakeReply:
        import nats

        if self.nc is None:
            options = {"name": "custody-sdk", "max_reconnect_attempts": -1, **self.options}
            self.nc = await nats.connect(self.url, **options)
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": key}
        last = CustodyError(0, "unreachable", "", f"{self.url}: no attempt made")
        for attempt in range(self.attempts):
            hint: float | None = None
            try:
                msg = await self.nc.request(
                    subjects.intake_event(source), body, timeout=self.timeout, headers=headers
                )
            except Exception as exc:  # no responders, timeout, reconnecting: all retryable
                last = CustodyError(0, "unreachable", "", f"{self.url}: {exc!r}")
            else:
                reply = IntakeReply.model_validate_json(msg.data)
                if reply.status != "unavailable":
                    return reply
                last = CustodyError(503, reply.error_code or "bus_unavailable", "", reply.message)
                hint = reply.retry_after_s
            if attempt + 1 < self.attempts:
                await asyncio.sleep(_backoff(attempt, hint))
        raise last

    async def close(self) -> None:
        if self.nc is not None:
            await self.nc.close()
            self.nc = None


class CustodyClient:
    """Talks to intake: over HTTP (`http://…`) or NATS (`nats://…`) for raising, HTTP for the
    rest. `nats_options` go to `nats.connect` (user, password, TLS)."""

    def __init__(
        self,
        intake_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        attempts: int = 4,
        nats_options: dict[str, Any] | None = None,
    ) -> None:
        self._http = _Http(intake_url, token, timeout, attempts)
        self._nats: _Nats | None = None
        if intake_url.startswith(("nats://", "tls://")):
            self._nats = _Nats(intake_url, token, timeout, attempts, **(nats_options or {}))

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
        """Ping heartbeat `name`; the first ping declares `interval` (e.g. "30s")."""
        body = {"interval": interval} if interval is not None else None
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
        self._http = _Http(ledger_url, token, timeout, 2)

    async def get(self, path: str) -> Any:
        return await self._http.request("GET", path)


def raise_incident_sync(intake_url: str, token: str, **event: Any) -> RaiseResult:
    """One call, for code that is not async."""
    with SyncCustodyClient(intake_url, token) as client:
        return client.raise_incident(**event)
