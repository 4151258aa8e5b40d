"""The checkpoint signing key: an Ed25519 key in a file (0600), never in Postgres.

In dev the ledger creates it on first start in the data dir; in production mount it as a
secret. Its public half is written beside it (`.pub`, PEM): that file is what
`custody ledger verify` trusts, so keep a copy wherever you verify.
"""

from __future__ import annotations

import os
from pathlib import Path

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from custody_ledger.config import public_key_path
from custody_ledger.domain.checkpoints import key_id

log = structlog.get_logger(__name__)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    # link, not replace: two replicas racing to create the key must not end up with two keys.
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def load_or_create(path: Path) -> Ed25519PrivateKey:
    """The key at `path`, created first if there is none; its `.pub` is (re)written beside
    it when that is possible (a read-only secret mount keeps its own)."""
    if not path.exists():
        fresh = Ed25519PrivateKey.generate()
        pem = fresh.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        try:
            _write_private(path, pem)
        except OSError as exc:
            raise OSError(
                f"cannot create the checkpoint signing key at {path} ({exc.strerror}):"
                " mount one and point CUSTODY_LEDGER_SIGNING_KEY at it"
            ) from exc
        log.info("ledger.signing_key_created", path=str(path))
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    public = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    pub_path = public_key_path(path)
    try:
        if not pub_path.exists() or pub_path.read_bytes() != public:
            pub_path.write_bytes(public)
    except OSError as exc:
        log.warning("ledger.public_key_not_written", path=str(pub_path), error=repr(exc))
    log.info("ledger.signing_key_loaded", key_id=key_id(key.public_key()))
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    """The trusted public key (PEM). Raises ValueError for anything else."""
    key = load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path}: not an Ed25519 public key")
    return key
