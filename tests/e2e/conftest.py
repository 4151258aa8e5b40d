"""The five services as real processes, started the way `custody up` starts them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from custody.runtime.stack import Stack
from tests.fixtures.infra import postgres_scratch_dir

POLICY = Path(__file__).parent / "policy.yaml"


class System:
    """A running stack plus the helpers tests need to observe it from outside."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def cli(self, *args: str, check: bool = True) -> Any:
        env = {**os.environ, "CUSTODY_DATA_DIR": str(self.stack.data_dir)}
        proc = subprocess.run(
            [sys.executable, "-m", "custody", *args, "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"custody {' '.join(args)} failed: {proc.stderr.strip()}")
        return json.loads(proc.stdout) if proc.stdout.strip() else proc

    def raise_incident(self, as_name: str = "monitor-1", **kw: str) -> str:
        args = [
            "raise",
            "--as",
            as_name,
            "--severity",
            kw.pop("severity", "red"),
            "--title",
            kw.pop("title", "checkout 5xx"),
            "--service",
            kw.pop("service", "checkout"),
            "--dedup-key",
            kw.pop("dedup_key", uuid.uuid4().hex),
        ]
        result = self.cli(*args)
        assert result["status"] == "accepted"
        return str(result["escalation_id"])

    def pages(self, escalation_id: str | None = None) -> list[dict[str, Any]]:
        path = self.stack.sink_path
        if not path.exists():
            return []
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [r for r in rows if escalation_id is None or r["escalation_id"] == escalation_id]

    def wait_for(self, what: str, probe: Callable[[], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@contextmanager
def running_system(
    policy: Path = POLICY,
    replicas: dict[str, int] | None = None,
    service_env: dict[str, str] | None = None,
) -> Iterator[System]:
    """A whole stack in a fresh directory, stopped (by PID) when the block ends."""
    with postgres_scratch_dir() as root:
        stack = Stack(
            root / "custody",
            policy,
            replicas=replicas,
            service_env=service_env,
            extra_state={"dev_admin": "dave"},
        )
        started = time.monotonic()
        try:
            stack.start()
            print(f"\n[e2e] stack ready in {time.monotonic() - started:.1f}s")
            yield System(stack)
        finally:
            stack.stop()


@pytest.fixture(scope="session")
def system() -> Iterator[System]:
    with running_system() as running:
        yield running
