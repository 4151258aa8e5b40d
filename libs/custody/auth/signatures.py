"""Provider signatures: how each callback proves where it came from, and how we sign ours.

Pure functions (hmac, hashlib), shared by the notifier (which signs webhooks and checks SMS
delivery receipts) and intake (which checks replies, chat buttons and canary arrivals):

- generic webhook (like PagerDuty webhooks v3): `v1=<hex HMAC-SHA256(secret, body)>`, one
  per secret, comma-separated, so a receiver keeps working while the secret rotates;
- Twilio: base64 HMAC-SHA1 over the callback URL plus the sorted form parameters;
- Slack: `v0=<hex HMAC-SHA256(secret, "v0:<timestamp>:<body>")>`, with a freshness window;
- Mailgun-style inbound mail: hex HMAC-SHA256(key, timestamp + token), with a freshness window.

Every check compares with `hmac.compare_digest` (constant time) and never stops at the first
mismatch, so timing tells nothing about which candidate came close.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Sequence

WEBHOOK_SIGNATURE_HEADER = "X-Custody-Signature"
TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"
SLACK_SIGNATURE_HEADER = "X-Slack-Signature"
SLACK_TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
FRESHNESS_S = 300  # Slack's own window: older requests are replays until proven otherwise


def _hmac_hex(secret: bytes, data: bytes) -> str:
    return hmac.new(secret, data, hashlib.sha256).hexdigest()


def _any_equal(expected: Iterable[str], given: Iterable[str]) -> bool:
    """True if any given value equals any expected one; compares every pair, in constant time."""
    found = False
    wanted = [e.encode() for e in expected]
    for value in given:
        candidate = value.strip().encode()
        for want in wanted:
            found |= hmac.compare_digest(want, candidate)
    return found


# --- generic webhook (PagerDuty v3 style) ----------------------------------------------------


def webhook_signature(secrets: Sequence[bytes], body: bytes) -> str:
    """The header value for `body`: one `v1=` signature per secret, newest first."""
    return ",".join(f"v1={_hmac_hex(secret, body)}" for secret in secrets)


def verify_webhook(secrets: Sequence[bytes], header: str | None, body: bytes) -> bool:
    if not header or not secrets:
        return False
    given = [part.split("=", 1)[1] for part in header.split(",") if part.strip().startswith("v1=")]
    return _any_equal((_hmac_hex(s, body) for s in secrets), given)


# --- Twilio ------------------------------------------------------------------------------------


def twilio_signature(auth_token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """Twilio's request signature: the full URL, then each POST parameter's name and value,
    sorted by name, concatenated; HMAC-SHA1 with the auth token; base64."""
    data = url + "".join(k + v for k, v in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verify_twilio(
    auth_token: str, url: str, params: Sequence[tuple[str, str]], header: str | None
) -> bool:
    if not header or not auth_token:
        return False
    return _any_equal([twilio_signature(auth_token, url, params)], [header])


# --- Slack -------------------------------------------------------------------------------------


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    return "v0=" + _hmac_hex(secret.encode(), b"v0:" + timestamp.encode() + b":" + body)


def verify_slack(
    secret: str, timestamp: str | None, body: bytes, header: str | None, now_s: float
) -> bool:
    """Signature and freshness: a request older (or newer) than FRESHNESS_S is refused."""
    if not header or not timestamp or not secret or not fresh(timestamp, now_s):
        return False
    return _any_equal([slack_signature(secret, timestamp, body)], [header])


# --- inbound mail (Mailgun style) ----------------------------------------------------------------


def mail_signature(key: str, timestamp: str, token: str) -> str:
    return _hmac_hex(key.encode(), (timestamp + token).encode())


def verify_mail(key: str, timestamp: str, token: str, signature: str, now_s: float) -> bool:
    if not key or not token or not signature or not fresh(timestamp, now_s):
        return False
    return _any_equal([mail_signature(key, timestamp, token)], [signature])


def fresh(timestamp: str, now_s: float, window_s: float = FRESHNESS_S) -> bool:
    try:
        moment = float(timestamp)
    except ValueError:
        return False
    return abs(now_s - moment) <= window_s
