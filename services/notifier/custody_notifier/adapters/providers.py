"""Real providers or the dev sink, chosen per channel from the environment (NotifierSettings):
a channel whose endpoint is configured uses its provider, every other one the JSON-lines sink,
which is all `custody up` needs. Notices and batches get a sink file of their own, so the dev
`pages.jsonl` holds pages only."""

from __future__ import annotations

import httpx

from custody.settings import NotifierSettings
from custody_notifier.adapters.channels import CHANNEL_NAMES, Channel, Channels, JsonLinesSink
from custody_notifier.adapters.http_channels import SignedWebhook, SlackChat, TwilioSms
from custody_notifier.adapters.http_post import RetryPolicy
from custody_notifier.adapters.smtp import SmtpEmail, SmtpServer

NOTICES_FILE = "notices.jsonl"


def build_channels(settings: NotifierSettings, client: httpx.AsyncClient) -> Channels:
    real = real_channels(settings, client)
    pages_sink = JsonLinesSink(settings.sink_path())
    notices_sink = JsonLinesSink(settings.sink_path().with_name(NOTICES_FILE))
    return Channels(
        pages={name: real.get(name, pages_sink) for name in CHANNEL_NAMES},
        notices={name: real.get(name, notices_sink) for name in CHANNEL_NAMES},
    )


def real_channels(settings: NotifierSettings, client: httpx.AsyncClient) -> dict[str, Channel]:
    policy = RetryPolicy(attempts=settings.send_attempts, base_s=settings.retry_base_s)
    real: dict[str, Channel] = {}
    if settings.sms_base_url:
        callback = (
            f"{settings.receipts_url.rstrip('/')}/v1/receipts/sms"
            if settings.receipts_url
            else None
        )
        real["sms"] = TwilioSms(
            client,
            base_url=settings.sms_base_url,
            account_sid=settings.sms_account_sid,
            auth_token=settings.sms_auth_token,
            from_number=settings.sms_from,
            status_callback=callback,
            policy=policy,
            throttle_s=settings.sms_window_s,
            idempotency_header=settings.sms_idempotency_header,
        )
    if settings.smtp_host:
        server = SmtpServer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout_s=settings.send_timeout_s,
        )
        real["email"] = SmtpEmail(
            server, sender=settings.smtp_from, message_domain=settings.reply_domain, policy=policy
        )
    if settings.chat_webhook_url:
        real["chat"] = SlackChat(client, webhook_url=settings.chat_webhook_url, policy=policy)
    if settings.webhook_secrets.strip():
        secrets = [s.strip().encode() for s in settings.webhook_secrets.split(",") if s.strip()]
        real["webhook"] = SignedWebhook(client, secrets=secrets, policy=policy)
    return real
