"""How the SDK reaches intake: HTTP with a pooled client, or NATS request/reply. Every retry
sends the very same bytes and headers, so the idempotency key is the same on every attempt."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from custody import subjects
from custody.contracts import IntakeReply

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


class HttpTransport:
    def __init__(
        self,
        base_url: str,
        token: str,
        timeout: float,
        attempts: int,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.attempts = attempts
        self.transport = transport
        self._pool: tuple[asyncio.AbstractEventLoop, httpx.AsyncClient] | None = None

    def _client(self) -> httpx.AsyncClient:
        """One pooled client per event loop (a client cannot outlive the loop it was made in,
        and sync callers run a loop per call)."""
        loop = asyncio.get_running_loop()
        if self._pool is None or self._pool[0] is not loop or self._pool[1].is_closed:
            http = httpx.AsyncClient(
                base_url=self.base_url, timeout=self.timeout, transport=self.transport
            )
            self._pool = (loop, http)
        return self._pool[1]

    async def close(self) -> None:
        if self._pool is not None and self._pool[0] is asyncio.get_running_loop():
            await self._pool[1].aclose()
        self._pool = None

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
        http = self._client()
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


class NatsTransport:
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
