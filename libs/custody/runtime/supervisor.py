"""Run named child processes and restart any that exit, within 2 s."""

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

from custody.runtime.server_log import open_log

log = structlog.get_logger(__name__)

POLL_INTERVAL_S = 0.2
STOP_TIMEOUT_S = 10.0
# A child that dies within this long of starting is crash-looping: back off, but
# never beyond the point where a restart would take more than 2 s in total.
QUICK_EXIT_S = 1.0
MAX_BACKOFF_S = 1.5

OnChange = Callable[[dict[str, int]], None]


@dataclass
class _Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    quick_exits: int = 0
    restart_due: float | None = None


class Supervisor:
    """Keeps a set of named processes alive until `stop()`.

    Children stay in our process group (no new session), so Ctrl-C in a terminal
    reaches them too; the caller should then call `stop()`, which also cleans up
    any child restarted in the meantime.
    """

    def __init__(self, on_change: OnChange | None = None, log_dir: Path | None = None) -> None:
        self._on_change = on_change
        self._log_dir = log_dir
        self._children: dict[str, _Child] = {}
        self._lock = threading.Lock()
        # Held while calling on_change, so the caller sees snapshots in order.
        self._notify_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def add(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        """Register a child; `env` is laid over our own environment.

        After `start()`, the child is spawned at once (e.g. an extra replica `router-2`).
        """
        with self._lock:
            if name in self._children:
                raise ValueError(f"a child named {name!r} is already supervised")
            if self._stopping:
                raise RuntimeError("the supervisor is stopping")
            child = _Child(name, list(argv), dict(env))
            self._children[name] = child
            if self._thread is not None:
                self._spawn(child)
        if self._thread is not None:
            self._notify()

    def start(self) -> None:
        """Spawn every child, then watch them from a background thread."""
        with self._lock:
            if self._thread is not None or self._stopping:
                raise RuntimeError("a supervisor can be started only once")
            try:
                for child in self._children.values():
                    self._spawn(child)
            except OSError:
                self._stopping = True
                spawned = [c.proc for c in self._children.values() if c.proc is not None]
                self._terminate(spawned, STOP_TIMEOUT_S)
                raise
            self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
            self._thread.start()
        self._notify()

    def pids(self) -> dict[str, int]:
        """The latest PID of each child that has been spawned."""
        with self._lock:
            return self._pids()

    def _pids(self) -> dict[str, int]:
        return {c.name: c.proc.pid for c in self._children.values() if c.proc is not None}

    def restarts(self, name: str) -> int:
        with self._lock:
            return self._children[name].restarts

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> None:
        """Send `sig` to a child; the supervisor restarts it if it exits."""
        with self._lock:
            proc = self._children[name].proc
            if proc is not None:
                proc.send_signal(sig)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM every child, then SIGKILL any alive after `timeout`; no restarts from now on."""
        with self._lock:
            self._stopping = True
            procs = [c.proc for c in self._children.values() if c.proc is not None]
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        self._terminate(procs, timeout)

    @staticmethod
    def _terminate(procs: list[subprocess.Popen[bytes]], timeout: float) -> None:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                # A child paused with SIGSTOP (chaos tests do that) would never act
                # on SIGTERM; SIGCONT lets the pending SIGTERM through.
                proc.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _spawn(self, child: _Child) -> None:
        # Called with self._lock held.
        env = {**os.environ, **child.env}
        if self._log_dir is None:
            child.proc = subprocess.Popen(child.argv, env=env, stdin=subprocess.DEVNULL)
        else:
            banner = f"supervisor: starting {child.name}"
            with open_log(self._log_dir / f"{child.name}.log", banner) as out:
                child.proc = subprocess.Popen(
                    child.argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
                )
        child.started_at = time.monotonic()
        child.restart_due = None

    def _watch(self) -> None:
        while not self._wake.wait(POLL_INTERVAL_S):
            if self._restart_exited():
                self._notify()

    def _restart_exited(self) -> bool:
        """Restart every child whose exit was seen and whose backoff is over."""
        changed = False
        now = time.monotonic()
        with self._lock:
            if self._stopping:
                return False
            for child in self._children.values():
                if child.proc is None or child.proc.poll() is None:
                    continue
                if child.restart_due is None:
                    child.restart_due = now + self._backoff(child, now)
                    log.warning(
                        "supervisor.child_exited",
                        child=child.name,
                        pid=child.proc.pid,
                        returncode=child.proc.returncode,
                    )
                if now < child.restart_due:
                    continue
                try:
                    self._spawn(child)
                except OSError as exc:
                    # Counts as a quick exit, so the next attempt backs off further.
                    child.started_at, child.restart_due = now, None
                    log.error("supervisor.restart_failed", child=child.name, error=str(exc))
                    continue
                child.restarts += 1
                changed = True
        return changed

    @staticmethod
    def _backoff(child: _Child, now: float) -> float:
        if now - child.started_at < QUICK_EXIT_S:
            child.quick_exits += 1
        else:
            child.quick_exits = 0
        if child.quick_exits <= 1:
            return 0.0
        return float(min(MAX_BACKOFF_S, 0.1 * 2 ** (child.quick_exits - 1)))

    def _notify(self) -> None:
        if self._on_change is None:
            return
        with self._notify_lock:
            with self._lock:
                pids = self._pids()
            try:
                self._on_change(pids)
            except Exception:
                # The caller's callback must not kill the watcher, or nothing
                # would be restarted any more.
                log.exception("supervisor.on_change_failed")
