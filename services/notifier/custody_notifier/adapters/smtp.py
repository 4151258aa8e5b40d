"""Email over SMTP (aiosmtplib): a text part and an HTML part, a Reply-To carrying the reply
token, and threading headers (one thread per escalation; formats.email_headers).

SMTP has no idempotency key, so only answers that prove nothing was queued are retried:
| answer                                   | meaning                          |
|------------------------------------------|----------------------------------|
| 250 after DATA                           | sent                             |
| 5xx (any stage), all recipients refused  | `DeliveryFailed` (falls back)    |
| 4xx (any stage), cannot connect          | retry with back-off, then `RetryLater` |
| dropped connection or timeout mid-session| unknown: raised as is, in doubt  |
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from custody import clock
from custody_notifier.adapters.channels import DeliveryFailed, RetryLater
from custody_notifier.adapters.http_post import RetryPolicy, Sleep
from custody_notifier.domain.formats import email_headers, email_html
from custody_notifier.domain.render import RenderedPage
from custody_notifier.domain.retry import backoff_s


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_s: float = 10.0


class SmtpEmail:
    def __init__(
        self,
        server: SmtpServer,
        *,
        sender: str,
        message_domain: str,
        policy: RetryPolicy,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._server = server
        self._sender = sender
        self._domain = message_domain
        self._policy = policy
        self._sleep = sleep

    def message(self, page: RenderedPage, address: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self._sender
        msg["To"] = address
        msg["Subject"] = page.subject
        msg["Date"] = format_datetime(clock.now())
        for name, value in email_headers(page, self._domain).items():
            msg[name] = value
        msg.set_content(page.body)
        msg.add_alternative(email_html(page), subtype="html")
        return msg

    async def send(self, page: RenderedPage, address: str, idempotency_key: str) -> str:
        msg = self.message(page, address)
        why = "no attempt made"
        for attempt in range(1, self._policy.attempts + 1):
            try:
                await self._submit(msg, address)
                return str(msg["Message-ID"])
            except RetryLater as exc:
                why = str(exc)
            if attempt < self._policy.attempts:
                await self._sleep(backoff_s(attempt, self._policy.base_s))
        raise RetryLater(backoff_s(self._policy.attempts + 1, self._policy.base_s), why)

    async def _submit(self, msg: EmailMessage, address: str) -> None:
        server = self._server
        try:
            await aiosmtplib.send(
                msg,
                hostname=server.host,
                port=server.port,
                username=server.username,
                password=server.password,
                start_tls=server.starttls,
                timeout=server.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if all(400 <= c < 500 for c in codes):
                raise RetryLater(0, f"recipient deferred: {codes}") from exc
            raise DeliveryFailed(f"recipient {address} refused: {codes}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 400 <= exc.code < 500:
                raise RetryLater(0, f"SMTP {exc.code} {exc.message}") from exc
            raise DeliveryFailed(f"SMTP {exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPConnectTimeoutError) as exc:
            raise RetryLater(0, f"cannot connect: {exc}") from exc
        # SMTPServerDisconnected, SMTPReadTimeoutError, ...: may have been queued, in doubt.
