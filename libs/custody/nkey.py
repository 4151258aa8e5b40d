"""NATS NKeys for service users: mint a user key pair, and sign a server's nonce with it.

The official `nkeys` package pulls in PyNaCl; this is the small part Custody needs, on the
`cryptography` package it already has. The encoding is the one of nats-io/nkeys: a prefix
byte, the raw Ed25519 key, a little-endian CRC-16/XMODEM, all in unpadded base32.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

_PREFIX_SEED = 18 << 3  # "S..."
_PREFIX_USER = 20 << 3  # "U..."


class NKeyError(ValueError):
    """Not a user seed this module can read."""


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _encode(raw: bytes) -> str:
    checked = raw + _crc16(raw).to_bytes(2, "little")
    return base64.b32encode(checked).decode().rstrip("=")


def _decode(text: str) -> bytes:
    try:
        checked = base64.b32decode(text + "=" * (-len(text) % 8))
    except binascii.Error as exc:
        raise NKeyError("not base32") from exc
    raw, crc = checked[:-2], int.from_bytes(checked[-2:], "little")
    if len(checked) < 3 or _crc16(raw) != crc:
        raise NKeyError("checksum mismatch")
    return raw


def _public_key(private: Ed25519PrivateKey) -> str:
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return _encode(bytes([_PREFIX_USER]) + raw)


@dataclass(frozen=True)
class UserKey:
    """A user NKey: the seed is the secret a service holds, the public key goes in the server
    config (`authorization.users[].nkey`)."""

    seed: str
    public_key: str

    @classmethod
    def generate(cls) -> UserKey:
        private = Ed25519PrivateKey.generate()
        raw = private.private_bytes_raw()
        # Two prefix bytes pack the seed marker and the key type, as nkeys does.
        head = bytes([_PREFIX_SEED | (_PREFIX_USER >> 5), (_PREFIX_USER & 31) << 3])
        return cls(seed=_encode(head + raw), public_key=_public_key(private))

    @classmethod
    def from_seed(cls, seed: str) -> UserKey:
        raw = _decode(seed.strip())
        if len(raw) != 34:
            raise NKeyError("a seed holds two prefix bytes and a 32-byte key")
        kind = ((raw[0] & 7) << 5) | ((raw[1] & 0xF8) >> 3)
        if raw[0] & 0xF8 != _PREFIX_SEED or kind != _PREFIX_USER:
            raise NKeyError("not a user seed (it should start with 'SU')")
        private = Ed25519PrivateKey.from_private_bytes(raw[2:])
        return cls(seed=seed.strip(), public_key=_public_key(private))

    def sign(self, nonce: str) -> bytes:
        """The CONNECT signature nats-server checks against the public key."""
        private = Ed25519PrivateKey.from_private_bytes(_decode(self.seed)[2:])
        return base64.b64encode(private.sign(nonce.encode()))


def is_user_public_key(text: str) -> bool:
    try:
        raw = _decode(text)
    except NKeyError:
        return False
    return len(raw) == 33 and raw[0] == _PREFIX_USER
