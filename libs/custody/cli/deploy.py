"""Deploying: render the NATS configs, mint credentials, probe a health endpoint.

`custody deploy render [--check]`  rewrite (or only compare) the generated deploy files;
`custody deploy secrets`           fresh NKeys and passwords, as Kubernetes Secrets or a .env;
`custody probe URL`                exit 0 when URL answers 200 (container healthchecks: the
                                   image has Python but no curl).
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from custody import nats_config, permissions, subjects
from custody.cli.context import CliError, Context
from custody.cli.output import emit
from custody.nkey import UserKey

# The ledger's Postgres roles (custody_ledger/roles.py, deploy/postgres/roles.sql), by the
# name of their psql password variable. libs never imports a service, so a test keeps these
# two lists equal.
DB_ROLES = {"owner": "ledger_owner", "app": "ledger_app", "reader": "ledger_reader"}


def render(ctx: Context, args: argparse.Namespace) -> int:
    root: Path = args.root
    stale: list[str] = []
    for relative, text in nats_config.committed_files().items():
        path = root / relative
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        stale.append(relative)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if args.check and stale:
        raise CliError(
            f"{', '.join(stale)} out of date with libs/custody/permissions.py: "
            "run `custody deploy render`"
        )
    verb = "out of date" if args.check else "rewritten"
    human = f"{verb}: {', '.join(stale)}" if stale else "deploy files are up to date"
    emit(ctx.json, {"stale" if args.check else "written": stale}, human)
    return 0


def _secret(name: str, namespace: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "custody"},
        },
        "type": "Opaque",
        "stringData": data,
    }


def mint() -> tuple[dict[str, UserKey], dict[str, str]]:
    """An NKey per service, a password for the NATS admin and for each login role."""
    keys = {service: UserKey.generate() for service in subjects.SERVICES}
    passwords = {"nats_admin": nats_config.new_password()}
    passwords.update({f"db_{role}": nats_config.new_password() for role in DB_ROLES})
    return keys, passwords


def k8s_secrets(namespace: str, postgres_host: str) -> list[dict[str, Any]]:
    keys, passwords = mint()
    nats_users = {nats_config.nkey_env(s): k.public_key for s, k in keys.items()}
    nats_users[nats_config.password_env(permissions.ADMIN)] = passwords["nats_admin"]
    db = f"{postgres_host}:5432/custody"
    docs = [_secret("custody-nats-users", namespace, nats_users)]
    docs += [_secret(f"custody-{s}-nats", namespace, {"seed": k.seed}) for s, k in keys.items()]
    owner, app = DB_ROLES["owner"], DB_ROLES["app"]
    docs.append(
        _secret(
            "custody-provision",
            namespace,
            {
                "NATS_URL": f"nats://admin:{passwords['nats_admin']}@nats:4222",
                "DATABASE_URL": f"postgresql://{owner}:{passwords['db_owner']}@{db}",
            },
        )
    )
    docs.append(
        _secret(
            "custody-ledger-db",
            namespace,
            {"DATABASE_URL": f"postgresql://{app}:{passwords['db_app']}@{db}"},
        )
    )
    # For running deploy/postgres/roles.sql with psql -v (see the README).
    docs.append(
        _secret(
            "custody-postgres-roles",
            namespace,
            {f"{role}_password": passwords[f"db_{role}"] for role in DB_ROLES},
        )
    )
    return docs


def compose_env() -> list[str]:
    _, passwords = mint()
    lines = [
        f"{nats_config.password_env(u)}={nats_config.new_password()}" for u in permissions.matrix()
    ]
    lines += [f"CUSTODY_DB_{role.upper()}_PASSWORD={passwords[f'db_{role}']}" for role in DB_ROLES]
    lines.append(f"POSTGRES_PASSWORD={nats_config.new_password()}")
    return lines


def secrets_command(ctx: Context, args: argparse.Namespace) -> int:
    if args.format == "env":
        print("\n".join(compose_env()))
        return 0
    docs = k8s_secrets(args.namespace, args.postgres_host)
    if ctx.json:
        print(json.dumps(docs, indent=2))
    else:
        # JSON is YAML: `kubectl apply -f -` takes this list document as it is.
        print(json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}, indent=2))
    return 0


def probe(ctx: Context, args: argparse.Namespace) -> int:
    try:
        with urllib.request.urlopen(args.url, timeout=args.timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        raise CliError(f"{args.url}: unreachable ({exc})") from exc
    if status != 200:
        raise CliError(f"{args.url}: answered {status}")
    emit(ctx.json, {"url": args.url, "status": status}, f"{args.url}: ok")
    return 0


def register(add: Any) -> None:
    p = add("deploy render", render, "rewrite the generated NATS configs under deploy/")
    p.add_argument("--check", action="store_true", help="only report drift; exit 2 on any")
    p.add_argument("--root", type=Path, default=Path("."), help="the repository (default .)")
    p = add("deploy secrets", secrets_command, "fresh NKeys and passwords for a deployment")
    p.add_argument("--format", choices=("k8s", "env"), default="k8s")
    p.add_argument("--namespace", default="custody")
    p.add_argument("--postgres-host", default="postgres")
    p = add("probe", probe, "exit 0 when URL answers 200 (for container healthchecks)")
    p.add_argument("url")
    p.add_argument("--timeout", type=float, default=2.0)
