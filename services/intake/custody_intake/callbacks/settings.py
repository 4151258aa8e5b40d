"""The callbacks' own settings (CUSTODY_ prefix). The secrets are the same variables the
notifier reads: it signs what intake verifies."""

from __future__ import annotations

from pydantic import Field

from custody.settings import CommonSettings


class CallbackSettings(CommonSettings):
    link_keys: str = ""  # "kid:secret,kid2:old"; empty: the dev key in data_dir
    sms_auth_token: str = ""  # Twilio-style request signatures
    chat_signing_secret: str = ""  # Slack-style v0 signatures
    mail_signing_key: str = ""  # inbound mail webhook (Mailgun-style) signatures
    webhook_secrets: str = ""  # our own signed webhooks (the canary's arrivals)
    command_wait_s: float = Field(default=5.0, gt=0)  # how long to wait for the escalator
    callbacks_url: str | None = None  # public base providers post to (signed URLs); else as seen
    canary_interval_s: float | None = Field(default=None, gt=0)  # overrides policy canary.interval
    canary_arrival_s: float = Field(default=30.0, gt=0)
    canary_agent: str = "custody-canary"
    canary_check_s: float = Field(default=2.0, gt=0)

    def webhook_secret_list(self) -> list[bytes]:
        return [s.strip().encode() for s in self.webhook_secrets.split(",") if s.strip()]
