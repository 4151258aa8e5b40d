"""An inbound callback client: what SMS, email and chat providers post to intake, signed
correctly, or deliberately not (a wrong secret, a stale timestamp, no signature)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlencode

import httpx

from custody.auth.signatures import (
    SLACK_SIGNATURE_HEADER,
    SLACK_TIMESTAMP_HEADER,
    TWILIO_SIGNATURE_HEADER,
    WEBHOOK_SIGNATURE_HEADER,
    mail_signature,
    slack_signature,
    twilio_signature,
    webhook_signature,
)

Signing = Literal["good", "wrong", "none", "stale"]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class CallbackClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        sms_token: str,
        chat_secret: str,
        mail_key: str,
        webhook_secrets: list[bytes],
    ) -> None:
        self.http = http
        self.base = base_url.rstrip("/")
        self.sms_token = sms_token
        self.chat_secret = chat_secret
        self.mail_key = mail_key
        self.webhook_secrets = webhook_secrets

    async def sms(
        self, sender: str, body: str, *, sid: str | None = None, signing: Signing = "good"
    ) -> httpx.Response:
        """A Twilio inbound-SMS webhook (the signature covers the URL and sorted params)."""
        url = f"{self.base}/v1/callbacks/sms"
        params = {
            "MessageSid": sid or f"SM{uuid.uuid4().hex}",
            "From": sender,
            "To": "+15550000000",
            "Body": body,
            "AccountSid": "ACtest",
        }
        token = self.sms_token if signing != "wrong" else "not-the-token"
        headers = dict(FORM)
        if signing != "none":
            headers[TWILIO_SIGNATURE_HEADER] = twilio_signature(token, url, sorted(params.items()))
        return await self.http.post(url, content=urlencode(params), headers=headers)

    async def sms_receipt(
        self, url: str, sid: str, status: str, *, signing: Signing = "good"
    ) -> httpx.Response:
        """A Twilio status callback (delivery receipt) to the notifier."""
        params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "ACtest"}
        token = self.sms_token if signing != "wrong" else "not-the-token"
        headers = dict(FORM)
        if signing != "none":
            headers[TWILIO_SIGNATURE_HEADER] = twilio_signature(token, url, sorted(params.items()))
        return await self.http.post(url, content=urlencode(params), headers=headers)

    async def email(
        self,
        sender: str,
        recipient: str,
        text: str,
        *,
        token: str | None = None,
        signing: Signing = "good",
    ) -> httpx.Response:
        """A Mailgun-style inbound-mail webhook."""
        stamp = str(int(time.time()) - (3600 if signing == "stale" else 0))
        token = token or uuid.uuid4().hex
        key = self.mail_key if signing != "wrong" else "not-the-key"
        form = {
            "sender": sender,
            "from": f"Someone <{sender}>",
            "recipient": recipient,
            "subject": "Re: [CUSTODY:RED] page",
            "stripped-text": text,
            "body-plain": text + "\n\n> quoted page",
            "timestamp": stamp,
            "token": token,
            "signature": "" if signing == "none" else mail_signature(key, stamp, token),
        }
        return await self.http.post(
            f"{self.base}/v1/callbacks/email", content=urlencode(form), headers=FORM
        )

    async def chat(
        self,
        action: str,
        value: str,
        *,
        username: str = "bob",
        trigger: str | None = None,
        signing: Signing = "good",
    ) -> httpx.Response:
        """A Slack block_actions interaction, form-encoded as `payload=<json>`."""
        payload = {
            "type": "block_actions",
            "user": {"id": "U1", "username": username, "name": username},
            "trigger_id": trigger or uuid.uuid4().hex,
            "actions": [{"action_id": action, "value": value, "type": "button"}],
        }
        raw = urlencode({"payload": json.dumps(payload)}).encode()
        stamp = str(int(time.time()) - (3600 if signing == "stale" else 0))
        secret = self.chat_secret if signing != "wrong" else "not-the-secret"
        headers = {**FORM, SLACK_TIMESTAMP_HEADER: stamp}
        if signing != "none":
            headers[SLACK_SIGNATURE_HEADER] = slack_signature(secret, stamp, raw)
        return await self.http.post(f"{self.base}/v1/callbacks/chat", content=raw, headers=headers)

    async def webhook(
        self, path: str, body: Mapping[str, Any], *, signing: Signing = "good"
    ) -> httpx.Response:
        raw = json.dumps(body).encode()
        secrets = self.webhook_secrets if signing != "wrong" else [b"not-the-secret"]
        headers = {"Content-Type": "application/json"}
        if signing != "none":
            headers[WEBHOOK_SIGNATURE_HEADER] = webhook_signature(secrets, raw)
        return await self.http.post(f"{self.base}{path}", content=raw, headers=headers)
