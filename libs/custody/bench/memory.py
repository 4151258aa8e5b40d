"""Peak resident memory of each service while the benchmark loads it (Linux /proc)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

SAMPLE_EVERY_S = 0.5


def rss_mb(pid: int, proc: Path = Path("/proc")) -> float | None:
    """VmRSS of `pid` in MiB, or None when it cannot be read (gone, or not Linux)."""
    try:
        status = (proc / str(pid) / "status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024  # the kernel reports kB
    return None


class PeakRss:
    """Samples every service's RSS until stopped; `peaks` holds the highest seen, in MiB."""

    def __init__(self, pids: Callable[[], dict[str, int]]) -> None:
        self._pids = pids
        self.peaks: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        for name, pid in self._pids().items():
            value = rss_mb(pid)
            if value is not None:
                self.peaks[name] = max(self.peaks.get(name, 0.0), value)

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(SAMPLE_EVERY_S)

    def __enter__(self) -> PeakRss:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()
        self.sample()
