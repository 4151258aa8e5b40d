"""Provider callbacks and action links: everything a responder does from a page.

- `GET/POST /a/{token}`: signed ack and resolve links (GET confirms, only POST acts);
- `POST /v1/callbacks/sms`: SMS replies ("ack 7f3a"), Twilio-style;
- `POST /v1/callbacks/email`: replies to a page's Reply-To, from an inbound-mail webhook;
- `POST /v1/callbacks/chat`: chat buttons, Slack-style;
- `POST /v1/callbacks/canary`: canary arrivals, and the canary loop (lifespan) itself.

Mounted by `create_app` with one `include_router(callbacks.router(parts.door))`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter

from custody_intake.callbacks import chat, email, links, sms
from custody_intake.callbacks.canary import Canary
from custody_intake.callbacks.common import Callbacks
from custody_intake.callbacks.settings import CallbackSettings
from custody_intake.door import Door


def router(door: Door, settings: CallbackSettings | None = None) -> APIRouter:
    callbacks = Callbacks(door, settings or CallbackSettings())
    canary = Canary(callbacks)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        """The canary loop runs while the app serves; it idles when no interval is set."""
        stop = asyncio.Event()
        task = asyncio.create_task(canary.run(stop))
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(task, return_exceptions=True)

    api = APIRouter(lifespan=lifespan)
    for part in (links.router(callbacks), sms.router(callbacks), email.router(callbacks)):
        api.include_router(part)
    api.include_router(chat.router(callbacks))
    api.include_router(canary.router())
    return api


__all__ = ["CallbackSettings", "Callbacks", "Canary", "router"]
