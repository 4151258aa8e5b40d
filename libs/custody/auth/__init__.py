"""Who is calling: bearer tokens, stored only as sha256 hashes in the `credentials` bucket."""

from custody.auth.credentials import (
    Principal,
    generate_token,
    hash_token,
    lookup_principal,
    store_principals,
)

__all__ = ["Principal", "generate_token", "hash_token", "lookup_principal", "store_principals"]
