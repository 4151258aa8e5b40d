"""Signed, single-use action tokens: the ack and resolve links in pages, and reply addresses.

A token is `<key id>.<payload>.<signature>`, URL-safe:

- the payload is base64url JSON binding the recipient, the escalation, the action and the
  expiry, plus a token id;
- the signature is HMAC-SHA256 of `<key id>.<payload>` under the key the key id names.

Keys rotate: the notifier signs with the first key of `CUSTODY_LINK_KEYS` ("k2:secret,k1:old")
and intake accepts any key listed, so a new key goes first, and the old one is dropped once
the links it signed have expired. A token works once: intake spends it by *creating*
`<action>.<token id>` in KV, and a create fails when the key exists, so a replayed link is
refused on every intake replica (DESIGN.md invariant 7).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

from nats.js.errors import KeyWrongLastSequenceError
from nats.js.kv import KeyValue

LinkAction = Literal["ack", "resolve", "reply"]
ACTIONS: tuple[str, ...] = get_args(LinkAction)
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MIN_SECRET_BYTES = 16
DEV_KEYS_FILE = "link-keys.json"


class TokenRefused(Exception):
    """Why a token does not act: `code` is stable (malformed, unknown_key, bad_signature,
    expired, used), `message` says it to a person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class LinkKeys:
    """Key id → secret; the first pair signs, every pair verifies."""

    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("link keys: at least one key is needed")
        for key_id, secret in self.keys:
            if not _KEY_ID.match(key_id):
                raise ValueError(f"link keys: key id {key_id!r} must match [A-Za-z0-9_-]{{1,32}}")
            if len(secret) < MIN_SECRET_BYTES:
                raise ValueError(f"link keys: key {key_id!r} is shorter than 16 bytes")

    @classmethod
    def parse(cls, text: str) -> LinkKeys:
        """'k2:secret2,k1:secret1' (first signs). Secrets are taken as UTF-8 text."""
        pairs = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            key_id, sep, secret = part.partition(":")
            if not sep:
                raise ValueError(f"link keys: {key_id!r} has no ':secret'")
            pairs.append((key_id.strip(), secret.strip().encode()))
        return cls(tuple(pairs))

    @property
    def signing(self) -> tuple[str, bytes]:
        return self.keys[0]

    def secret(self, key_id: str) -> bytes | None:
        return next((s for k, s in self.keys if k == key_id), None)


@dataclass(frozen=True)
class ActionClaims:
    recipient: str
    escalation_id: str
    action: LinkAction
    expires_at: datetime
    token_id: str
    key_id: str = ""


def token_id_for(*parts: str) -> str:
    """A deterministic token id: re-rendering the same page yields the same link."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def issue(keys: LinkKeys, claims: ActionClaims) -> str:
    key_id, secret = keys.signing
    payload = {
        "r": claims.recipient,
        "e": claims.escalation_id,
        "a": claims.action,
        "x": int(claims.expires_at.timestamp()),
        "j": claims.token_id,
    }
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return f"{key_id}.{body}.{_sign(secret, key_id, body)}"


def verify(keys: LinkKeys, token: str, now: datetime) -> ActionClaims:
    """The claims of a genuine, unexpired token; `TokenRefused` otherwise. Spending it (single
    use) is a separate step, taken only when the token is about to act."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 2048:
        raise TokenRefused("malformed", "this link is not a Custody action link")
    key_id, body, signature = parts
    secret = keys.secret(key_id)
    if secret is None:
        raise TokenRefused("unknown_key", "this link was signed with a retired key")
    if not hmac.compare_digest(_sign(secret, key_id, body).encode(), signature.encode()):
        raise TokenRefused("bad_signature", "this link has been altered")
    claims = _claims(body, key_id)
    if claims.expires_at <= now:
        raise TokenRefused(
            "expired", f"this link expired at {claims.expires_at:%Y-%m-%d %H:%M} UTC"
        )
    return claims


async def spend(kv: KeyValue, claims: ActionClaims, now: datetime, action: str = "") -> bool:
    """Use the token once for `action` (default: its own). False when it was used already."""
    record = json.dumps({"recipient": claims.recipient, "at": now.isoformat()}).encode()
    try:
        await kv.create(spent_key(claims, action), record)
    except KeyWrongLastSequenceError:
        return False
    return True


def spent_key(claims: ActionClaims, action: str = "") -> str:
    return f"link.{action or claims.action}.{claims.token_id}"


def dev_keys(data_dir: Path) -> LinkKeys:
    """Without CUSTODY_LINK_KEYS (dev, `custody up`): one random key, created once in the data
    dir and shared by the notifier and intake. Whoever creates it first wins (link(2) is an
    atomic create), so two services starting together still agree."""
    path = data_dir / DEV_KEYS_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{DEV_KEYS_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps({"dev": secrets.token_urlsafe(32)}) + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        tmp.unlink()
    data = json.loads(path.read_text())
    return LinkKeys(tuple((k, str(v).encode()) for k, v in data.items()))


def load_keys(configured: str, data_dir: Path) -> LinkKeys:
    """The configured keys, else the dev key (created if missing): for whoever signs."""
    return LinkKeys.parse(configured) if configured.strip() else dev_keys(data_dir)


def verifying_keys(configured: str, data_dir: Path) -> LinkKeys | None:
    """For whoever only verifies: the configured keys, else the dev key if the notifier has
    created one; None when there is neither (every token is then refused)."""
    if configured.strip():
        return LinkKeys.parse(configured)
    return dev_keys(data_dir) if (data_dir / DEV_KEYS_FILE).exists() else None


def _sign(secret: bytes, key_id: str, body: str) -> str:
    mac = hmac.new(secret, f"{key_id}.{body}".encode(), hashlib.sha256).digest()
    return _b64(mac)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(body: str, key_id: str) -> ActionClaims:
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        action = data["a"]
        if action not in ACTIONS:
            raise ValueError(action)
        return ActionClaims(
            recipient=str(data["r"]),
            escalation_id=str(data["e"]),
            action=action,
            expires_at=datetime.fromtimestamp(int(data["x"]), UTC),
            token_id=str(data["j"]),
            key_id=key_id,
        )
    except (ValueError, KeyError, TypeError, OverflowError, OSError) as exc:
        # Signed by us yet unreadable: only a bug (or a leaked key) gets here.
        raise TokenRefused("malformed", "this link's contents are unreadable") from exc


# --- reply codes and reply addresses ---------------------------------------------------------
#
# An SMS reply ("ack 7f3a") carries no token, and an email reply address must stay short, so
# both are bound in KV `delivery` by the notifier when it sends: the key names the number that
# was paged (or an unguessable reply id), the record names recipient and escalation. Intake
# only reads them, so a reply acts only for the number or address that was actually paged.


@dataclass(frozen=True)
class ReplyBinding:
    recipient: str
    escalation_id: str
    address: str  # the number or email address that was paged
    page_id: str
    expires_at: datetime

    def to_json(self) -> bytes:
        data = {
            "recipient": self.recipient,
            "escalation_id": self.escalation_id,
            "address": self.address,
            "page_id": self.page_id,
            "expires_at": self.expires_at.isoformat(),
        }
        return json.dumps(data, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes | None) -> ReplyBinding:
        data = json.loads(raw or b"{}")
        return cls(
            recipient=str(data["recipient"]),
            escalation_id=str(data["escalation_id"]),
            address=str(data["address"]),
            page_id=str(data.get("page_id", "")),
            expires_at=datetime.fromisoformat(str(data["expires_at"])),
        )


def phone_digits(number: str) -> str:
    """'+46 70-000 00 02' → '46700000002': numbers compare by their digits alone."""
    return "".join(c for c in number if c.isascii() and c.isdigit())


def sms_reply_key(number: str, code: str) -> str:
    return f"reply.sms.{phone_digits(number) or '0'}.{code.lower()}"


def mail_reply_id(secret: bytes, page_id: str) -> str:
    """32 hex characters, unguessable without the key, the same for every render of a page."""
    return hmac.new(secret, f"reply:{page_id}".encode(), hashlib.sha256).hexdigest()[:32]


def mail_reply_key(reply_id: str) -> str:
    return f"reply.mail.{reply_id.lower()}"
