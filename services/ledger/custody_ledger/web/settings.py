"""The web inbox's settings (env vars CUSTODY_...): where intake is, and how sessions are kept."""

from __future__ import annotations

from pathlib import Path

from custody.settings import CommonSettings

SESSION_KEY_FILE = "web-session.key"  # HMAC key for session cookies, 0600, in the data dir
CREDENTIALS_FILE = "credentials.json"  # written only by `custody up` in dev: enables the picker


class WebSettings(CommonSettings):
    # Actions are POSTed to intake with the person's own token. The embedded stack gives every
    # service CUSTODY_INTAKE_PORT, so the default works there; elsewhere set CUSTODY_INTAKE_URL.
    intake_url: str | None = None
    intake_port: int = 8610
    web_session_secret: str = ""  # empty: a key generated once in the data dir
    web_session_ttl_s: float = 12 * 3600.0
    web_cookie_secure: bool = False  # set behind TLS
    web_poll_s: float = 0.5  # how often each open live stream looks at the projection
    web_stream_s: float = 10.0  # a stream ends after this; EventSource reconnects at once

    def intake_base(self) -> str:
        return (self.intake_url or f"http://127.0.0.1:{self.intake_port}").rstrip("/")

    def credentials_path(self) -> Path:
        return self.data_dir / CREDENTIALS_FILE

    def session_key_path(self) -> Path:
        return self.data_dir / SESSION_KEY_FILE
