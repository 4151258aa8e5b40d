"""Token hashing, dev-token generation and the principal lookup every HTTP edge uses."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Literal

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

PrincipalKind = Literal["person", "agent"]


@dataclass(frozen=True)
class Principal:
    name: str
    kind: PrincipalKind


def generate_token(name: str) -> str:
    # The name prefix makes a leaked token easy to attribute in logs; the rest is the secret.
    return f"cst_{name.replace('-', '_')}_{secrets.token_urlsafe(24)}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def store_principals(kv: KeyValue, tokens: dict[str, tuple[str, PrincipalKind]]) -> None:
    """`tokens` maps token -> (name, kind). Only the hash is stored."""
    for token, (name, kind) in tokens.items():
        await kv.put(hash_token(token), json.dumps({"name": name, "kind": kind}).encode())


async def lookup_principal(kv: KeyValue, token: str) -> Principal | None:
    try:
        entry = await kv.get(hash_token(token))
    except KeyNotFoundError:
        return None
    if entry.value is None:
        return None
    data = json.loads(entry.value)
    if data.get("revoked"):
        return None
    return Principal(name=str(data["name"]), kind=data["kind"])
