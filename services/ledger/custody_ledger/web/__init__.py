"""The web inbox, served by the ledger: sign in with your own token, see what is yours, open
the case, act (relayed to intake as you), and watch every view update live over SSE.

`install(app, reads, directory)` mounts it on the ledger's FastAPI app.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI

from custody import clock
from custody_ledger.web import auth, pages
from custody_ledger.web.intake_relay import IntakeRelay, Relay
from custody_ledger.web.session import Signer, load_or_create_key
from custody_ledger.web.settings import WebSettings
from custody_ledger.web.views import People, ReadSide


def install(
    app: FastAPI,
    reads: ReadSide,
    directory: People,
    *,
    settings: WebSettings | None = None,
    now: Callable[[], datetime] = clock.now,
    relay: Relay | None = None,
) -> None:
    """`settings` default to the environment; `relay` to intake at `settings.intake_base()`."""
    s = settings or WebSettings()
    signer = Signer(lambda: load_or_create_key(s.session_key_path(), s.web_session_secret))
    gate = auth.Gate(
        signer, directory, s.credentials_path(), s.web_session_ttl_s, s.web_cookie_secure
    )
    web = pages.Pages(
        reads,
        gate,
        relay or IntakeRelay(s.intake_base()),
        now,
        poll_s=s.web_poll_s,
        stream_s=s.web_stream_s,
    )
    app.include_router(auth.router(gate))
    app.include_router(pages.router(web))
