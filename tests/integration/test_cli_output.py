"""--json promises one JSON document on stdout: log lines of in-process work go to stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from custody.runtime.nats_server import NatsServer


def test_provision_json_is_parseable_while_migrations_log(
    fresh_database: str, tmp_path: Path
) -> None:
    nats = NatsServer(tmp_path / "nats")
    nats.start()
    try:
        env = os.environ | {"NATS_URL": nats.url, "DATABASE_URL": fresh_database}
        done = subprocess.run(
            [sys.executable, "-m", "custody", "provision", "--json", "--data-dir", str(tmp_path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        nats.stop()
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # the whole of stdout, nothing else
    assert report["policy_version"]
    assert "migration_applied" in done.stderr
