"""Signed cookies: the session (who is signed in, with which token) and one-shot flash notes.

A value is `base64url(json).hex(hmac-sha256)`. The token travels in an HttpOnly, SameSite=Lax
cookie so that the web app can act at intake as the person, and never shows it to scripts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Session:
    name: str
    token: str
    expires: float


def load_or_create_key(path: Path, configured: str = "") -> bytes:
    """The configured secret, else a random key kept (0600) in `path` so restarts keep sessions."""
    if configured:
        return configured.encode()
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
    return key


class Signer:
    """`key` is called once, on first use: building the app touches no file."""

    def __init__(self, key: Callable[[], bytes]) -> None:
        self._load = key
        self._key: bytes | None = None

    def _mac(self, body: str, purpose: str) -> str:
        if self._key is None:
            self._key = self._load()
        # The purpose is part of the MAC, so a flash value can never pass as a session.
        return hmac.new(self._key, f"{purpose}:{body}".encode(), hashlib.sha256).hexdigest()

    def dumps(self, data: dict[str, Any], purpose: str) -> str:
        raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
        body = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return f"{body}.{self._mac(body, purpose)}"

    def loads(self, value: str | None, purpose: str) -> dict[str, Any] | None:
        if not value or "." not in value:
            return None
        body, mac = value.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac(body, purpose)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (ValueError, binascii.Error):
            return None
        return data if isinstance(data, dict) else None

    def session(self, name: str, token: str, expires: float) -> str:
        return self.dumps({"n": name, "t": token, "x": expires}, "session")

    def read_session(self, value: str | None, now: float) -> Session | None:
        data = self.loads(value, "session")
        if data is None:
            return None
        name, token, expires = data.get("n"), data.get("t"), data.get("x")
        if not isinstance(name, str) or not isinstance(token, str):
            return None
        if not isinstance(expires, int | float) or expires <= now:
            return None
        return Session(name, token, float(expires))
