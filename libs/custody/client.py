"""The agent SDK: raise an incident and get its escalation id once it is durably accepted.

from custody.client import CustodyClient
client = CustodyClient("http://127.0.0.1:8610", token)
result = await client.raise_incident(title="checkout 5xx", severity="red", service="checkout")
print(result.escalation_id)
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

RETRYABLE = {502, 503, 504}


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
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Retries reuse the very same body (and so the same idempotency key)."""
        all_headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        last: CustodyError | None = None
        async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout) as http:
            for attempt in range(self.attempts):
                try:
                    response = await http.request(method, path, json=body, headers=all_headers)
                except httpx.HTTPError as exc:
                    last = CustodyError(0, "unreachable", "", f"{self.base_url}: {exc!r}")
                else:
                    if response.status_code < 400:
                        return response.json()
                    last = _error(response)
                    if response.status_code not in RETRYABLE:
                        raise last
                await asyncio.sleep(min(0.5 * 2**attempt, 4.0))
        assert last is not None
        raise last


class CustodyClient:
    """Talks to intake (raise, commands)."""

    def __init__(self, intake_url: str, token: str, *, timeout: float = 10.0, attempts: int = 4):
        self._http = _Http(intake_url, token, timeout, attempts)

    async def raise_incident(
        self,
        *,
        title: str,
        severity: str,
        source: str,
        dedup_key: str | None = None,
        customer_impact: bool = False,
        service: str | None = None,
        labels: dict[str, str] | None = None,
        proof: dict[str, Any] | None = None,
    ) -> RaiseResult:
        event: dict[str, Any] = {
            "source": source,
            "dedup_key": dedup_key or uuid.uuid4().hex,  # fixed before the first attempt
            "title": title,
            "severity": severity,
            "customer_impact": customer_impact,
            "service": service,
            "labels": labels or {},
            "proof": proof or {},
        }
        data = await self._http.request("POST", "/v1/events", event)
        return RaiseResult(data["escalation_id"], bool(data.get("duplicate")))

    async def command(self, escalation_id: str, action: str, **body: Any) -> dict[str, Any]:
        key = uuid.uuid4().hex
        result: dict[str, Any] = await self._http.request(
            "POST",
            f"/v1/escalations/{escalation_id}/{action}",
            body,
            headers={"Idempotency-Key": key},
        )
        return result


class LedgerClient:
    """Reads the record (inbox, show, trace)."""

    def __init__(self, ledger_url: str, token: str, *, timeout: float = 10.0):
        self._http = _Http(ledger_url, token, timeout, 2)

    async def get(self, path: str) -> Any:
        return await self._http.request("GET", path)


def raise_incident_sync(intake_url: str, token: str, **event: Any) -> RaiseResult:
    """The same, for code that is not async."""
    return asyncio.run(CustodyClient(intake_url, token).raise_incident(**event))
