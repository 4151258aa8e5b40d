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
    data_dir: Path = Path(".custody")
    log_level: str = "info"
    trace_file: Path | None = None  # JSON-lines span export in dev and tests
    health_port: int = 0  # 0: no health server
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
    sink_dir: Path | None = None  # dev sink; default <data_dir>/sink
    public_url: str = "http://127.0.0.1:8611"

    def sink_path(self) -> Path:
        return (self.sink_dir or self.data_dir / "sink") / "pages.jsonl"


class LedgerSettings(CommonSettings):
    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/custody",
        validation_alias=AliasChoices("CUSTODY_DATABASE_URL", "DATABASE_URL", "database_url"),
    )
    ledger_host: str = "127.0.0.1"
    ledger_port: int = 8611
    batch_size: int = 256
