"""Server-sent events: each open view gets the stamp of what it shows, now and on every change.

Each stream polls the ledger's own projection (every `poll_s`) rather than listening to the bus:
the projection is what the page renders, so a stamp change means the page is stale. A stream
ends after `lifetime_s` so that a shutting-down server is never held open by a browser;
EventSource reconnects after `retry` ms and the first event re-syncs it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.requests import Request

Probe = Callable[[], Awaitable[str]]
RETRY_MS = 300


def event(name: str, data: str) -> str:
    return f"event: {name}\ndata: {data}\n\n"


async def stream(
    request: Request, probe: Probe, *, poll_s: float, lifetime_s: float
) -> AsyncIterator[str]:
    """Yields the current stamp at once, then each new one; a comment keeps proxies awake."""
    yield f"retry: {RETRY_MS}\n\n"
    last: str | None = None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + lifetime_s
    while loop.time() < deadline:
        if await request.is_disconnected():
            return
        current: str | None
        try:
            current = await probe()
        except Exception:  # Postgres down or a read failed: say nothing, try again next tick
            current = last
        if current is not None and current != last:
            last = current
            yield event("stamp", current)
        else:
            yield ": tick\n\n"
        await asyncio.sleep(poll_s)
