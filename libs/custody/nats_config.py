"""nats-server configuration rendered from the permission matrix (`permissions.py`).

- the embedded dev server (`custody up`): one random password per user, kept in the data dir;
- `deploy/nats/cluster.conf`: the docker-compose cluster, three nodes, one password per user;
- `deploy/k8s/nats/nats.conf`: the Kubernetes StatefulSet, three pods, one NKey per service.

Secrets never land in the committed files: each credential is a `$VARIABLE` that nats-server
reads from its environment. `custody deploy render` rewrites both files, and a test fails when
a committed one differs from what the code renders, so the configs cannot drift from
`subjects.py`.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from custody.permissions import ADMIN, Permissions, matrix

CLUSTER_NAME: Final = "custody"
CLIENT_PORT: Final = 4222
CLUSTER_PORT: Final = 6222
MONITOR_PORT: Final = 8222
NODES: Final = 3  # R3 streams need three servers; any one of them may be down
SERVER_NAME_ENV: Final = "NATS_SERVER_NAME"

COMPOSE_CONF: Final = "deploy/nats/cluster.conf"
K8S_CONF: Final = "deploy/k8s/nats/nats.conf"
K8S_PID_FILE: Final = "/var/run/nats/nats.pid"  # an emptyDir: the root filesystem is read-only


# --- the authorization block ------------------------------------------------------------------


@dataclass(frozen=True)
class Credential:
    """How a user proves who it is, as written in the server config.

    `kind` is "password" or "nkey" (a public user key). With `from_env`, `value` names an
    environment variable of the nats-server process: secrets stay out of committed files."""

    kind: Literal["password", "nkey"]
    value: str
    from_env: bool = False

    def render(self) -> str:
        return f"${self.value}" if self.from_env else json.dumps(self.value)


def _list(items: Iterable[str], indent: str) -> str:
    """One subject per line: the committed configs are reviewed as diffs."""
    inner = "".join(f"{indent}  {json.dumps(i)}\n" for i in items)
    return f"[\n{inner}{indent}]"


def _variable(user: str) -> str:
    return "PERMISSIONS_" + user.upper().replace("-", "_")


def render_permissions(user: str, perms: Permissions) -> str:
    lines = [
        f"{_variable(user)} = {{",
        "  publish = {",
        f"    allow = {_list(perms.publish_allow, '    ')}",
    ]
    if perms.publish_deny:
        lines.append(f"    deny = {_list(perms.publish_deny, '    ')}")
    lines += [
        "  }",
        "  subscribe = {",
        f"    allow = {_list(perms.subscribe_allow, '    ')}",
        "  }",
    ]
    if perms.allow_responses:
        lines.append("  allow_responses = true")
    lines.append("}")
    return "\n".join(lines)


def render_authorization(
    credentials: Mapping[str, Credential], *, no_auth_user: str | None = None
) -> str:
    """The permission variables and the `authorization` block of a nats-server config.

    `credentials` must name every user of `matrix()`: a user without permissions would get
    everything, so a missing one is an error rather than a silent default."""
    users = matrix()
    missing = sorted(set(users) - set(credentials))
    if missing:
        raise ValueError(f"no credential for NATS user(s) {', '.join(missing)}")
    blocks = [render_permissions(user, perms) for user, perms in users.items()]
    entries = []
    for user in users:
        cred = credentials[user]
        who = (
            f"user = {json.dumps(user)}, password = {cred.render()}"
            if cred.kind == "password"
            else f"nkey = {cred.render()}"
        )
        entries.append(f"    {{{who}, permissions = ${_variable(user)}}}")
    text = "\n\n".join(blocks) + "\n\nauthorization {\n  users = [\n"
    text += "\n".join(entries) + "\n  ]\n}\n"
    if no_auth_user is not None:
        text += f"no_auth_user: {json.dumps(no_auth_user)}\n"
    return text


# --- the dev stack's users -------------------------------------------------------------------


def dev_passwords(path: Path) -> dict[str, str]:
    """One random password per user, created once per data dir and kept (0600) in `path`."""
    existing: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    passwords = {user: existing.get(user) or new_password() for user in matrix()}
    if passwords != existing:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(passwords, indent=2) + "\n")
        tmp.replace(path)
    return passwords


def render_dev_authorization(passwords: Mapping[str, str]) -> str:
    """The embedded server's users. Services connect as themselves, so a missing permission
    shows up in `custody up` and the e2e tests, not first in production. Connections without
    credentials (the CLI, tests, bench, on loopback only) act as the admin, as before."""
    creds = {user: Credential("password", pw) for user, pw in passwords.items()}
    return render_authorization(creds, no_auth_user=ADMIN)


# --- the committed deploy files ----------------------------------------------------------------


def password_env(user: str) -> str:
    return f"CUSTODY_NATS_PASSWORD_{user.upper()}"


def nkey_env(user: str) -> str:
    return f"CUSTODY_NATS_NKEY_{user.upper()}"


def password_credentials() -> dict[str, Credential]:
    return {user: Credential("password", password_env(user), from_env=True) for user in matrix()}


def nkey_credentials() -> dict[str, Credential]:
    """NKeys for the services; the admin keeps a password, because `custody provision` and
    `custody policy apply` take a plain NATS URL (nats://admin:...@host)."""
    creds = {user: Credential("nkey", nkey_env(user), from_env=True) for user in matrix()}
    creds[ADMIN] = Credential("password", password_env(ADMIN), from_env=True)
    return creds


@dataclass(frozen=True)
class Node:
    """Where one server listens and whom it routes to; the rest is the same everywhere."""

    routes: Sequence[str]
    store_dir: str = "/data/jetstream"
    client: str = f"0.0.0.0:{CLIENT_PORT}"
    monitor: str = f"0.0.0.0:{MONITOR_PORT}"
    cluster: str = f"0.0.0.0:{CLUSTER_PORT}"
    pid_file: str | None = None  # for `nats-server --signal ldm=<pid file>` (lame duck)


def server_config(node: Node, credentials: Mapping[str, Credential], what: str) -> str:
    routes = "".join(f"    {json.dumps(r)}\n" for r in node.routes)
    return (
        "# GENERATED by `custody deploy render` from libs/custody/permissions.py and\n"
        "# libs/custody/subjects.py: edit those, then re-render. Do not edit by hand.\n"
        f"# {what}\n"
        f"server_name: ${SERVER_NAME_ENV}\n"
        f"listen: {node.client}\n"
        f"http: {node.monitor}\n"
        "max_payload: 1MB\n"
        # Lame duck mode moves clients off a stopping node gradually, not in one stampede.
        "lame_duck_duration: 30s\n"
        "lame_duck_grace_period: 10s\n"
        + (f"pid_file: {json.dumps(node.pid_file)}\n" if node.pid_file else "")
        + "\n"
        "jetstream {\n"
        f"  store_dir: {json.dumps(node.store_dir)}\n"
        # Without it acked writes are fsynced only every 2 min, and an OS crash or power
        # loss can lose them (notes/jetstream.md). It can only be set in a config file.
        "  sync_interval: always\n"
        "}\n"
        "\n"
        "cluster {\n"
        f"  name: {CLUSTER_NAME}\n"
        f"  listen: {node.cluster}\n"
        "  routes: [\n"
        f"{routes}"
        "  ]\n"
        "}\n"
        "\n" + render_authorization(credentials)
    )


def compose_routes() -> list[str]:
    return [f"nats-route://nats-{i}:{CLUSTER_PORT}" for i in range(1, NODES + 1)]


def k8s_routes() -> list[str]:
    """StatefulSet pods behind the headless Service `nats`, in the pods' own namespace."""
    return [f"nats-route://nats-{i}.nats:{CLUSTER_PORT}" for i in range(NODES)]


def committed_files() -> dict[str, str]:
    """Repository-relative path -> the exact text that must be committed there."""
    return {
        COMPOSE_CONF: server_config(
            Node(compose_routes()),
            password_credentials(),
            "docker-compose: nodes nats-1..3; passwords come from CUSTODY_NATS_PASSWORD_<USER>.",
        ),
        K8S_CONF: server_config(
            Node(k8s_routes(), pid_file=K8S_PID_FILE),
            nkey_credentials(),
            "Kubernetes: StatefulSet nats; NKeys come from CUSTODY_NATS_NKEY_<SERVICE>.",
        ),
    }


def new_password() -> str:
    """A secret nats-server can read back from `$VAR`: its config parser takes a value that
    starts with a digit or a dash for a number (and then fails), so it starts with a letter."""
    return "p" + secrets.token_urlsafe(24)
