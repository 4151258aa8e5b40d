"""`custody provision`: JetStream, the ledger schema, credentials and the policy, idempotently."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import asyncpg
import nats

from custody import clock, durability, subjects
from custody.auth.credentials import PrincipalKind, generate_token, store_principals
from custody.bus.provisioning import provision_jetstream
from custody.policy import Policy, load_policy, policy_version
from custody.policy.store import apply_and_record, load_current

EXAMPLE_POLICY = Path(__file__).parent / "policy" / "example.yaml"


async def migrate_ledger(database_url: str, role_secrets: Path | None = None) -> dict[str, str]:
    """The schema belongs to the ledger (the only Postgres writer). It is found by module path
    at run time, as `custody run` finds every service, so libs never imports a service.

    With a superuser's `database_url` this also sets up the ledger's three roles (owner, app,
    reader); given `role_secrets` (dev), their passwords are kept there and their URLs are
    returned as {"owner", "app", "reader"}: the ledger service logs in with "app"."""
    module: Any = importlib.import_module("custody_ledger.migrate")
    urls: dict[str, str] = await module.migrate(database_url, role_secrets=role_secrets)
    conn = await asyncpg.connect(database_url)
    try:
        durability.refuse(await durability.postgres_violations(conn))
    finally:
        await conn.close()
    return urls


def ensure_credentials(path: Path, policy: Policy) -> dict[str, str]:
    """Dev tokens: one per person and agent, kept stable across restarts in credentials.json."""
    existing: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    names = [*policy.people, *policy.agents]
    tokens = {name: existing.get(name) or generate_token(name) for name in names}
    if tokens != existing:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(tokens, indent=2) + "\n")
        tmp.chmod(0o600)
        tmp.replace(path)
    return tokens


async def provision_all(
    nats_url: str,
    database_url: str | None,
    policy_path: Path,
    credentials_path: Path | None,
    author: str = "custody provision",
    ledger_role_secrets: Path | None = None,
    stream_replicas: int = 1,
) -> dict[str, object]:
    """`ledger_role_secrets`: see `migrate_ledger`; the report then holds `ledger_app_url`."""
    policy = load_policy(policy_path)
    nc = await nats.connect(nats_url, name="custody-provision", connect_timeout=5)
    try:
        js = nc.jetstream()
        report = await provision_jetstream(js, stream_replicas)  # R1 locally, R3 in a cluster
        if credentials_path is not None:
            tokens = ensure_credentials(credentials_path, policy)
            kinds: dict[str, PrincipalKind] = {n: "person" for n in policy.people}
            kinds.update({n: "agent" for n in policy.agents})
            kv = await js.key_value(subjects.KV_CREDENTIALS)
            await store_principals(kv, {tok: (name, kinds[name]) for name, tok in tokens.items()})
        policy_kv = await js.key_value(subjects.KV_POLICY)
        current = await load_current(policy_kv)
        version = policy_version(policy)
        if current is None or current.version != version:
            # Recorded as a fact too, so the ledger knows every version that ever ran.
            await apply_and_record(js, policy_kv, policy, author, clock.now())
    finally:
        await nc.close()
    ledger_urls: dict[str, str] = {}
    if database_url is not None:
        ledger_urls = await migrate_ledger(database_url, ledger_role_secrets)
    return {
        "streams": list(report.streams),
        "consumers": list(report.consumers),
        "buckets": list(report.buckets),
        "policy_version": version,
        "database": database_url is not None,
        **({"ledger_app_url": ledger_urls["app"]} if "app" in ledger_urls else {}),
    }
