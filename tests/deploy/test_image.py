"""deploy/Dockerfile without a Docker engine: multi-stage, installed from the lock file, run as
a non-root user, and `custody probe` (the containers' healthcheck) behaves."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.lockfile import closure
from tests.deploy.structure import ROOT

DOCKERFILE = ROOT / "deploy" / "Dockerfile"
LOCK = ROOT / "deploy" / "requirements.lock"


def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    pairs = [line.split(None, 1) for line in lines if line and not line.startswith("#")]
    return [(p[0].upper(), p[1] if len(p) > 1 else "") for p in pairs]


def locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"{line!r} is not pinned with =="
            pins[canonicalize_name(name)] = version
    return pins


def test_image_is_multi_stage_and_runs_custody_as_a_non_root_user() -> None:
    steps = instructions()
    stages = [arg for op, arg in steps if op == "FROM"]
    assert len(stages) >= 2
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
    users = [arg for op, arg in final if op == "USER"]
    assert users, "the runtime stage must switch user"
    assert users[-1].split(":")[0] not in ("0", "root")
    assert ("ENTRYPOINT", '["custody"]') in final
    assert any(op == "COPY" and "--from=build" in arg for op, arg in final)


def test_image_installs_the_lock_file_and_nothing_else() -> None:
    runs = [arg for op, arg in instructions() if op == "RUN" and "pip install" in arg]
    assert any("--no-deps -r deploy/requirements.lock" in run for run in runs)
    assert any("--no-deps ." in run and "pip check" in run for run in runs)


def test_lock_pins_every_dependency_as_pyproject_does() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = locked()
    for line in project["dependencies"]:
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "=="
        assert pins.get(canonicalize_name(req.name)) == spec.version, req.name


def test_lock_covers_every_runtime_distribution_installed_here() -> None:
    """Versions of indirect dependencies may differ on a fresh machine; names may not."""
    missing = set(closure()) - set(locked())
    assert not missing, "run: .venv/bin/python -m tests.deploy.lockfile > deploy/requirements.lock"


def test_build_context_sends_what_the_dockerfile_copies() -> None:
    ignore = (ROOT / "deploy" / "Dockerfile.dockerignore").read_text().splitlines()
    copied = [arg.split()[0] for op, arg in instructions() if op == "COPY" and "--from" not in arg]
    for source in copied:
        assert any(rule.startswith(f"!{source}") for rule in ignore), source


# --- custody probe --------------------------------------------------------------------------


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/readyz" else 503)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def health_url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def probe(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "custody", "probe", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_probe_passes_on_200_and_fails_otherwise(health_url: str) -> None:
    assert probe(f"{health_url}/readyz").returncode == 0
    failed = probe(f"{health_url}/other")
    assert failed.returncode != 0
    assert "503" in failed.stderr
    assert probe("http://127.0.0.1:9/readyz").returncode != 0
