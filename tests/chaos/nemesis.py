"""Faults on a running stack, each logged into the history before and after it lands."""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Callable

from custody.runtime.stack import Stack
from tests.chaos.faultproxy import FaultProxy
from tests.chaos.history import History


class Nemesis:
    def __init__(self, stack: Stack, history: History, seed: int = 11) -> None:
        self.stack = stack
        self.history = history
        self.rng = random.Random(seed)
        self.last_fault_at = time.monotonic()

    def _done(self) -> None:
        self.last_fault_at = time.monotonic()

    def kill_random_service(self) -> None:
        supervisor = self.stack.supervisor
        assert supervisor is not None
        victim = self.rng.choice(sorted(supervisor.pids()))
        self.history.fault("kill", victim)
        supervisor.kill(victim, signal.SIGKILL)
        self._done()

    def pause(self, name: str, seconds: float) -> None:
        supervisor = self.stack.supervisor
        assert supervisor is not None
        self.history.fault("pause", f"{name} {seconds:.0f}s")
        supervisor.kill(name, signal.SIGSTOP)
        time.sleep(seconds)
        supervisor.kill(name, signal.SIGCONT)
        self._done()

    def kill_nats(self, down_s: float = 1.0) -> None:
        assert self.stack.nats is not None
        self.history.fault("kill-nats")
        self.stack.nats.kill()
        time.sleep(down_s)
        self.stack.nats.restart()
        self._done()

    def crash_postgres(self, down_s: float = 2.0) -> None:
        assert self.stack.postgres is not None
        self.history.fault("crash-postgres")
        self.stack.postgres.stop("immediate")
        time.sleep(down_s)
        self.stack.postgres.start()
        self._done()

    def network(
        self,
        proxy: FaultProxy,
        latency_s: float,
        jitter_s: float,
        blackhole_s: float,
        total_s: float,
    ) -> None:
        self.history.fault("latency", f"{latency_s * 1000:.0f}±{jitter_s * 1000:.0f} ms")
        proxy.latency_s, proxy.jitter_s = latency_s, jitter_s
        time.sleep(max(0.0, (total_s - blackhole_s) / 2))
        self.history.fault("blackhole", f"{blackhole_s:.0f}s")
        proxy.blackhole = True
        time.sleep(blackhole_s)
        proxy.blackhole = False
        time.sleep(max(0.0, (total_s - blackhole_s) / 2))
        proxy.latency_s = proxy.jitter_s = 0.0
        self._done()

    def every(
        self,
        seconds: float,
        fault: Callable[[], None],
        stop: threading.Event,
        limit: int | None = None,
    ) -> threading.Thread:
        """Run `fault` every `seconds` in a thread until `stop` (or `limit` faults)."""

        def loop() -> None:
            count = 0
            while not stop.wait(seconds) and (limit is None or count < limit):
                fault()
                count += 1

        thread = threading.Thread(target=loop, name="nemesis", daemon=True)
        thread.start()
        return thread
