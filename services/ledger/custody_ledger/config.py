"""The ledger's settings beyond custody.settings.LedgerSettings: where the signing key and the
checkpoint file live, and how often to checkpoint. Every field is an env var (CUSTODY_...)."""

from __future__ import annotations

from pathlib import Path

from custody.settings import LedgerSettings

SIGNING_KEY_FILE = "ledger-signing.key"  # Ed25519 private key (PKCS#8 PEM), 0600, never in Postgres
PUBLIC_KEY_FILE = "ledger-signing.pub"  # its public half: what `custody ledger verify` trusts
CHECKPOINT_FILE = "ledger-checkpoints.jsonl"  # one signed checkpoint per line


class LedgerConfig(LedgerSettings):
    # Defaults live in the data dir (dev); in production point these at a secret mount and a
    # volume that is not Postgres's.
    ledger_signing_key: Path | None = None
    ledger_checkpoint_file: Path | None = None
    checkpoint_every: int = 1000  # entries (also the most one checkpoint covers)
    checkpoint_interval_s: float = 10.0  # or this long, once the head has moved at all

    def signing_key_path(self) -> Path:
        return self.ledger_signing_key or self.data_dir / SIGNING_KEY_FILE

    def checkpoint_path(self) -> Path:
        return self.ledger_checkpoint_file or self.data_dir / CHECKPOINT_FILE


def public_key_path(signing_key: Path) -> Path:
    """The public key is written beside the private one."""
    return signing_key.with_suffix(".pub")
