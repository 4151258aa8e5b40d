"""The whole system on one machine: NATS, Postgres, provisioning and the five services.

Used by `custody up` and by the end-to-end tests, so the tests run what users run.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.js.errors import NotFoundError

from custody import nats_config, permissions, subjects
from custody.provisioning import EXAMPLE_POLICY, provision_all
from custody.runtime.nats_server import NatsServer
from custody.runtime.ports import free_port
from custody.runtime.postgres import PostgresServer
from custody.runtime.postgres_host import PostgresError
from custody.runtime.supervisor import Supervisor

DATABASE = "custody"
READY_TIMEOUT_S = 60.0
HTTP_SERVICES = ("intake", "ledger")  # each replica of these needs its own port


class Stack:
    def __init__(
        self,
        data_dir: Path,
        policy_path: Path | None = None,
        *,
        replicas: dict[str, int] | None = None,
        service_env: dict[str, str] | None = None,
        env_for: dict[str, dict[str, str]] | None = None,
        extra_state: dict[str, Any] | None = None,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.policy_path = (policy_path or EXAMPLE_POLICY).resolve()
        self.replicas = {name: 1 for name in subjects.SERVICES} | (replicas or {})
        self.service_env = service_env or {}
        self.env_for = env_for or {}  # per service, e.g. the notifier's NATS_URL via a proxy
        self.extra_state = extra_state or {}
        self.nats: NatsServer | None = None
        self.postgres: PostgresServer | None = None
        self.supervisor: Supervisor | None = None
        self.nats_url = os.environ.get("NATS_URL", "")
        self.database_url = os.environ.get("DATABASE_URL", "")
        # The ledger logs in as `ledger_app` (INSERT and SELECT on the record), not as the
        # superuser above: provisioning creates the role and says how (ledger issue #7).
        self.ledger_database_url = ""
        self.ports: dict[str, Any] = {}
        # Per-service NATS passwords, only when we run the server ourselves.
        self.nats_passwords: dict[str, str] = {}

    # --- paths -------------------------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.data_dir / "state.json"

    @property
    def credentials_path(self) -> Path:
        return self.data_dir / "credentials.json"

    @property
    def nats_users_path(self) -> Path:
        return self.data_dir / "nats-users.json"

    @property
    def sink_path(self) -> Path:
        return self.data_dir / "sink" / "pages.jsonl"

    @property
    def trace_path(self) -> Path:
        return self.data_dir / "traces" / "spans.jsonl"

    @property
    def intake_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['intake']}"

    @property
    def ledger_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['ledger']}"

    @property
    def admin_nats_url(self) -> str:
        """Provisioning and readiness connect as the admin user, services as themselves."""
        password = self.nats_passwords.get(permissions.ADMIN)
        if not password or self.nats is None:
            return self.nats_url
        return f"nats://{permissions.ADMIN}:{password}@127.0.0.1:{self.nats.port}"

    @staticmethod
    def replica_label(service: str, index: int) -> str:
        return service if index == 1 else f"{service}-{index}"

    def http_urls(self, service: str) -> list[str]:
        """Every replica's base URL; the first is `intake_url`/`ledger_url`."""
        return [
            f"http://127.0.0.1:{self.ports[self.replica_label(service, i)]}"
            for i in range(1, self.replicas[service] + 1)
        ]

    def credentials(self) -> dict[str, str]:
        data: dict[str, str] = json.loads(self.credentials_path.read_text())
        return data

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._load_ports()
        if not self.nats_url:
            # Each service connects as its own least-privilege user (permissions.py), so a
            # missing permission fails here and in the e2e tests, not first in production.
            self.nats_passwords = nats_config.dev_passwords(self.nats_users_path)
            (self.data_dir / "nats").mkdir(mode=0o700, exist_ok=True)  # its config has them
            self.nats = NatsServer(
                self.data_dir / "nats",
                self.ports["nats"],
                self.ports["nats_monitor"],
                extra_config=nats_config.render_dev_authorization(self.nats_passwords),
            )
            self.nats.start()
            self.nats_url = self.nats.url
        if not self.database_url:
            self.postgres = PostgresServer(self._pg_dir(), self.ports["postgres"])
            self.postgres.start()
            self.database_url = self._ensure_database(self.postgres)
        report = asyncio.run(
            provision_all(
                self.admin_nats_url,
                self.database_url,
                self.policy_path,
                self.credentials_path,
                ledger_role_secrets=self.data_dir / "ledger-roles.json",
            )
        )
        self.ledger_database_url = str(report.get("ledger_app_url") or self.database_url)
        self.supervisor = Supervisor(on_change=self._write_state, log_dir=self.data_dir / "logs")
        for name in subjects.SERVICES:
            for index in range(1, self.replicas[name] + 1):
                label = self.replica_label(name, index)
                argv = [sys.executable, "-m", "custody", "run", name]
                self.supervisor.add(label, argv, self._env(name, index))
        self.supervisor.start()
        self.wait_ready()
        return self.state()

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None
        if self.postgres is not None:
            self.postgres.stop("fast")
            self.postgres, self.database_url = None, os.environ.get("DATABASE_URL", "")
        if self.nats is not None:
            self.nats.stop()
            self.nats, self.nats_url = None, os.environ.get("NATS_URL", "")

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Ready: both HTTP services answer /readyz and every durable has a puller waiting."""
        deadline = time.monotonic() + timeout
        problem = "starting"
        while time.monotonic() < deadline:
            problem = asyncio.run(self._not_ready())
            if not problem:
                self._write_state(self.supervisor.pids() if self.supervisor else {})
                return
            time.sleep(0.2)
        raise RuntimeError(
            f"not ready after {timeout:.0f}s: {problem} (logs in {self.data_dir}/logs)"
        )

    async def _not_ready(self) -> str:
        async with httpx.AsyncClient(timeout=2.0) as client:
            for url in [u for name in HTTP_SERVICES for u in self.http_urls(name)]:
                try:
                    response = await client.get(f"{url}/readyz")
                except httpx.HTTPError as exc:
                    return f"{url} unreachable ({type(exc).__name__})"
                if response.status_code != 200:
                    return f"{url}/readyz answered {response.status_code}"
        nc = await nats.connect(self.admin_nats_url, connect_timeout=2)
        try:
            js = nc.jetstream()
            for spec in subjects.CONSUMERS:
                try:
                    info = await js.consumer_info(spec.stream, spec.durable)
                except NotFoundError:
                    return f"consumer {spec.durable} missing"
                if not info.num_waiting:
                    return f"no subscriber pulling on {spec.durable} yet"
        finally:
            await nc.close()
        return ""

    # --- state -------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        pids = self.supervisor.pids() if self.supervisor else {}
        return {
            "nats_url": self.nats_url,
            "database_url": self.database_url,
            "intake_url": self.intake_url,
            "ledger_url": self.ledger_url,
            "inbox_url": f"{self.ledger_url}/",
            "data_dir": str(self.data_dir),
            "credentials": str(self.credentials_path),
            "sink": str(self.sink_path),
            "services": {
                name: self._service_state(name, pid) for name, pid in sorted(pids.items())
            },
            **self.extra_state,
        }

    def _service_state(self, label: str, pid: int) -> dict[str, Any]:
        port = self.ports.get(label) if label.split("-")[0] in HTTP_SERVICES else None
        port = port or self.ports.get(f"{label}_health")
        return {"pid": pid} if port is None else {"pid": pid, "url": f"http://127.0.0.1:{port}"}

    def _write_state(self, _pids: dict[str, int]) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state(), indent=2) + "\n")
        tmp.replace(self.state_path)

    def _env(self, service: str, index: int) -> dict[str, str]:
        env = {
            "NATS_URL": self.nats_url,
            "CUSTODY_DATA_DIR": str(self.data_dir),
            "CUSTODY_INTAKE_PORT": str(self._port("intake", service, index)),
            "CUSTODY_LEDGER_PORT": str(self._port("ledger", service, index)),
            "CUSTODY_PUBLIC_URL": self.ledger_url,
            "CUSTODY_SINK_DIR": str(self.sink_path.parent),
            "CUSTODY_TRACE_FILE": str(self.trace_path),
            "CUSTODY_NATS_MONITOR_URL": self.nats.monitor_url if self.nats else "",
            "CUSTODY_REPLICA": str(index),
            "CUSTODY_HEALTH_PORT": str(
                self.ports.get(f"{self.replica_label(service, index)}_health", 0)
            ),
            "PYTHONUNBUFFERED": "1",
        }
        if service == "ledger":
            env["DATABASE_URL"] = self.ledger_database_url or self.database_url
        if service in self.nats_passwords:
            env["CUSTODY_NATS_USER"] = service
            env["CUSTODY_NATS_PASSWORD"] = self.nats_passwords[service]
        env.update(self.service_env)
        env.update(self.env_for.get(service, {}))
        return env

    def _port(self, http_service: str, service: str, index: int) -> int:
        """Replica N of an HTTP service listens on its own port; the rest see the first's."""
        port: int = self.ports[
            self.replica_label(http_service, index if service == http_service else 1)
        ]
        return port

    def _load_ports(self) -> None:
        """Ports are chosen once per data dir and kept, so clients and links survive restarts."""
        path = self.data_dir / "ports.json"
        saved: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        replicas = [
            self.replica_label(name, i)
            for name in HTTP_SERVICES
            for i in range(2, self.replicas[name] + 1)
        ]
        # Services without an HTTP API get a health port: /healthz, /readyz, /metrics.
        health = [
            f"{self.replica_label(name, i)}_health"
            for name in subjects.SERVICES
            if name not in HTTP_SERVICES
            for i in range(1, self.replicas[name] + 1)
        ]
        for name in ("nats", "nats_monitor", "postgres", "intake", "ledger", *replicas, *health):
            saved.setdefault(name, free_port())
        self.ports = saved
        path.write_text(json.dumps(saved, indent=2) + "\n")

    def _pg_dir(self) -> Path:
        """Postgres runs as an unprivileged user when we are root; if that user cannot enter the
        data dir (say, under /root), the cluster lives in /var/lib/custody, named per data dir."""
        preferred = self.data_dir / "postgres"
        if "pg_dir" in self.ports:
            return Path(self.ports["pg_dir"])
        try:
            from custody.runtime.postgres_host import make_reachable, postgres_os_user

            user = postgres_os_user()
            if user is not None:
                make_reachable(preferred, user)
            return preferred
        except PostgresError:
            tag = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
            fallback = Path("/var/lib/custody") / tag / "postgres"
            fallback.parent.mkdir(parents=True, exist_ok=True)
            for parent in (fallback.parent, fallback.parent.parent):
                parent.chmod(0o711)
            self.ports["pg_dir"] = str(fallback)
            (self.data_dir / "ports.json").write_text(json.dumps(self.ports, indent=2) + "\n")
            return fallback

    @staticmethod
    def _ensure_database(server: PostgresServer) -> str:
        try:
            return server.create_database(DATABASE)
        except Exception as exc:  # already exists on a restart
            if "already exists" not in str(exc):
                raise
            return server.database_url(DATABASE)
