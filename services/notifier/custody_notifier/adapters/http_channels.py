"""The HTTP providers: SMS (Twilio-compatible REST), chat (Slack-compatible incoming webhook
with buttons) and the generic signed webhook. Retries and answer meanings: http_post.py."""

from __future__ import annotations

import hashlib
import json

import httpx

from custody import clock
from custody.auth.signatures import WEBHOOK_SIGNATURE_HEADER, webhook_signature
from custody_notifier.adapters.channels import DeliveryFailed
from custody_notifier.adapters.http_post import (
    OutcomeUnknown,
    RetryPolicy,
    deliver,
    idempotency_headers,
)
from custody_notifier.domain.formats import chat_payload, webhook_payload
from custody_notifier.domain.render import RenderedPage

USER_AGENT = "custody-notifier/1"


class TwilioSms:
    """POST {base}/2010-04-01/Accounts/{sid}/Messages.json, basic auth (sid, token), with a
    status callback for delivery receipts and the page id as idempotency key. A provider
    without idempotency keys (`idempotency_header=""`) makes a 5xx or timeout in doubt."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        account_sid: str,
        auth_token: str,
        from_number: str,
        status_callback: str | None,
        policy: RetryPolicy,
        throttle_s: float = 60.0,
        idempotency_header: str = "Idempotency-Key",
    ) -> None:
        self._client = client
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._auth = (account_sid, auth_token)
        self._from = from_number
        self._callback = status_callback
        self._policy = policy
        self._header = idempotency_header
        self.throttle_s = throttle_s

    async def send(self, page: RenderedPage, address: str, idempotency_key: str) -> str:
        form = {"To": address, "From": self._from, "Body": page.body}
        if self._callback:
            form["StatusCallback"] = self._callback
        response = await deliver(
            self._client,
            self._url,
            idempotent=bool(self._header),
            policy=self._policy,
            data=form,
            auth=self._auth,
            headers={
                "User-Agent": USER_AGENT,
                **idempotency_headers(self._header, idempotency_key),
            },
        )
        try:
            sid = response.json()["sid"]
        except (ValueError, KeyError, TypeError) as exc:
            # Accepted (2xx) but unreadable: it was sent, we just lack its id.
            return f"sms-unknown-{_short(idempotency_key)} ({exc!r})"
        return str(sid)


class SlackChat:
    """A Slack-compatible incoming webhook: the page as blocks, the recipient's handle as
    `channel`, ack/resolve buttons carrying signed tokens. Slack has no idempotency key, so
    a 5xx or a timeout after sending is in doubt."""

    def __init__(self, client: httpx.AsyncClient, *, webhook_url: str, policy: RetryPolicy) -> None:
        self._client = client
        self._url = webhook_url
        self._policy = policy

    async def send(self, page: RenderedPage, address: str, idempotency_key: str) -> str:
        await deliver(
            self._client,
            self._url,
            idempotent=False,
            policy=self._policy,
            json=chat_payload(page, address),
            headers={"User-Agent": USER_AGENT},
        )
        return f"chat-{_short(idempotency_key)}"


class SignedWebhook:
    """POST the page as JSON to the recipient's URL, signed like PagerDuty webhooks v3: one
    `v1=` HMAC-SHA256 per secret in X-Custody-Signature, so receivers survive a rotation. The
    page id is `event.id` and the Idempotency-Key: receivers dedup on it, so retries are safe."""

    def __init__(
        self, client: httpx.AsyncClient, *, secrets: list[bytes], policy: RetryPolicy
    ) -> None:
        if not secrets:
            raise ValueError("webhook channel: at least one signing secret is needed")
        self._client = client
        self._secrets = secrets
        self._policy = policy

    async def send(self, page: RenderedPage, address: str, idempotency_key: str) -> str:
        if not address.startswith(("https://", "http://")):
            raise DeliveryFailed(f"webhook address {address[:80]!r} is not an http(s) URL")
        body = json.dumps(webhook_payload(page, clock.now()), sort_keys=True).encode()
        try:
            await deliver(
                self._client,
                address,
                idempotent=True,
                policy=self._policy,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": USER_AGENT,
                    "Idempotency-Key": idempotency_key,
                    WEBHOOK_SIGNATURE_HEADER: webhook_signature(self._secrets, body),
                },
            )
        except OutcomeUnknown:  # deliver() only raises it for non-idempotent posts
            raise
        return f"webhook-{_short(idempotency_key)}"


def _short(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]
