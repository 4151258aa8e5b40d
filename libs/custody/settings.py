"""Settings: one pydantic-settings class per service, all read from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    """What every service needs. Nothing is read at import time: build it in the app factory."""

    model_config = SettingsConfigDict(env_prefix="CUSTODY_", extra="ignore")

    # NATS_URL and DATABASE_URL are the conventional names (CONTRACT.md); prefixed ones work too.
    nats_url: str = Field(
        default="nats://127.0.0.1:4222",
        validation_alias=AliasChoices("CUSTODY_NATS_URL", "NATS_URL", "nats_url"),
    )
    nats_user: str | None = None
    nats_password: str | None = None
    nats_nkey_seed_file: Path | None = None  # per-service NKey login (k8s); overrides user/password
    data_dir: Path = Path(".custody")
    log_level: str = "info"
    trace_file: Path | None = None  # JSON-lines span export in dev and tests
    health_port: int = 0  # 0: no health server
    health_host: str = "127.0.0.1"  # 0.0.0.0 in a pod, so the kubelet's probes reach it
    publish_timeout_s: float = 5.0
    # The nats-server monitor (http://host:8222): lets the durability guard see sync_interval.
    nats_monitor_url: str | None = None


class IntakeSettings(CommonSettings):
    intake_host: str = "127.0.0.1"
    intake_port: int = 8610
    command_wait_s: float = 5.0
    accept_timeout_s: float = 1.5  # PubAck wait; past it the caller gets 503 and retries


class RouterSettings(CommonSettings):
    pass


class EscalatorSettings(CommonSettings):
    pass


class NotifierSettings(CommonSettings):
    """A real channel is used when its endpoint is set; otherwise that channel delivers to the
    dev sink (`custody up`). Secrets come from the environment only (CUSTODY_ prefix)."""

    sink_dir: Path | None = None  # dev sink; default <data_dir>/sink
    public_url: str = "http://127.0.0.1:8611"  # case links: <public_url>/e/<id>
    intake_port: int = 8610  # default base of action links when links_url is unset
    links_url: str | None = None  # base of ack/resolve links: <links_url>/a/<token>
    link_keys: str = ""  # "kid:secret,kid2:old" (first signs); empty: dev key in data_dir
    link_ttl_s: float = Field(default=24 * 3600.0, gt=0)
    # email: SMTP via aiosmtplib
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_from: str = "custody@localhost"
    reply_domain: str = "reply.custody.localhost"  # Reply-To: reply+<token>@<reply_domain>
    # SMS: a Twilio-compatible REST API
    sms_base_url: str | None = None
    sms_account_sid: str = ""
    sms_auth_token: str = ""
    sms_from: str = ""
    sms_window_s: float = Field(default=60.0, ge=0)  # at most one SMS per number per window
    sms_idempotency_header: str = "Idempotency-Key"  # "": the provider has none (5xx in doubt)
    # chat: a Slack-compatible incoming webhook (buttons call back to intake)
    chat_webhook_url: str | None = None
    # generic webhook: signed with each secret ("newest,older"), PagerDuty v3 style
    webhook_secrets: str = ""
    # delivery: retries inside one send, and provider receipts
    send_attempts: int = Field(default=3, ge=1)
    retry_base_s: float = Field(default=0.5, ge=0)
    send_timeout_s: float = Field(default=15.0, gt=0)  # one whole send, retries included
    claim_lease_s: float = Field(default=45.0, gt=0)  # >= 2 x send_timeout_s
    receipts_host: str = "127.0.0.1"
    receipts_port: int = 0  # 0: no receipts endpoint
    receipts_url: str | None = None  # public base the SMS provider posts status callbacks to
    # digests and the morning batch (the policy's time wins unless this overrides it)
    digest_at: str | None = None  # "07:00" or "07:00:30", recipient-local
    scheduler_period_s: float = Field(default=20.0, gt=0)

    def sink_path(self) -> Path:
        return (self.sink_dir or self.data_dir / "sink") / "pages.jsonl"

    def links_base(self) -> str:
        return self.links_url or f"http://127.0.0.1:{self.intake_port}"


class LedgerSettings(CommonSettings):
    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/custody",
        validation_alias=AliasChoices("CUSTODY_DATABASE_URL", "DATABASE_URL", "database_url"),
    )
    ledger_host: str = "127.0.0.1"
    ledger_port: int = 8611
    batch_size: int = 256
    # The ledger is off the paging path (paging must work while it is down, and it catches up
    # by itself). On a box it shares with the other services it gives way to them for the CPU
    # (nice): pages go out first under load, and the ledger records in bigger batches
    # (docs/performance.md). 0 keeps the priority it was started with.
    ledger_nice: int = Field(default=5, ge=0, le=19)
