"""One HTTP delivery with retries, and what each provider answer means for the page.

- 2xx: delivered (accepted by the provider): return the response.
- 429: throttled, nothing was sent: `RetryLater(Retry-After, provider_wide=True)` at once,
  so every page on that channel waits it out.
- any other 4xx: refused for good: `DeliveryFailed` (the page falls back).
- connection refused, connect timeout: the request never left: retry with back-off, then
  `RetryLater`.
- 5xx, read timeout, dropped connection: unknown, it may have been sent. A provider that
  honours our idempotency key dedups a retry, so retry, then `RetryLater`; for any other
  provider raise `OutcomeUnknown`: the page is in doubt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from custody import clock
from custody_notifier.adapters.channels import DeliveryFailed, RetryLater
from custody_notifier.domain.retry import backoff_s, retry_after_s

Sleep = Callable[[float], Awaitable[None]]


class OutcomeUnknown(Exception):
    """The request may have reached the provider: the page is in doubt."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_s: float = 0.5
    default_retry_after_s: float = 30.0


async def deliver(
    client: httpx.AsyncClient,
    url: str,
    *,
    idempotent: bool,
    policy: RetryPolicy,
    sleep: Sleep = asyncio.sleep,
    **request: Any,
) -> httpx.Response:
    """POST until delivered, refused, throttled or out of tries (see the module table)."""
    why = "no attempt made"
    for attempt in range(1, policy.attempts + 1):
        try:
            response = await client.post(url, **request)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            why = f"connect failed: {exc!r}"
        except httpx.TransportError as exc:
            if not idempotent:
                raise OutcomeUnknown(f"no answer after sending: {exc!r}") from exc
            why = f"no answer (retrying with the same idempotency key): {exc!r}"
        else:
            if response.is_success:
                return response
            why = _refusal(response, idempotent, policy)
        if attempt < policy.attempts:
            await sleep(backoff_s(attempt, policy.base_s))
    raise RetryLater(backoff_s(policy.attempts + 1, policy.base_s), why)


def _refusal(response: httpx.Response, idempotent: bool, policy: RetryPolicy) -> str:
    """Raise for answers that end this send; return the reason for those worth a retry."""
    status = response.status_code
    text = _head(response)
    if status == 429:
        after = retry_after_s(
            response.headers.get("retry-after"), clock.now(), policy.default_retry_after_s
        )
        raise RetryLater(after, f"429 throttled, Retry-After {after:g}s", provider_wide=True)
    if 400 <= status < 500 and status not in (408, 425):
        raise DeliveryFailed(f"{status}: {text}")
    if not idempotent:
        raise OutcomeUnknown(f"{status} from a provider without idempotency keys: {text}")
    return f"{status}: {text}"


def _head(response: httpx.Response) -> str:
    try:
        return response.text[:200]
    except Exception:  # an undecodable body says nothing more than its status
        return "(unreadable body)"


def idempotency_headers(header: str, key: str) -> Mapping[str, str]:
    return {header: key} if header else {}
