"""Run the whole benchmark: baseline, saturation, fixed-rate latency, checks."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from custody.bench.baseline import BaselineResult, run_baseline
from custody.bench.memory import PeakRss
from custody.bench.pipeline import PipelineResult, Run, raise_load, settle, summarise
from custody.loop import run_loop
from custody.runtime.stack import Stack

POLICY = Path(__file__).parent / "policy.yaml"


@dataclass(frozen=True)
class BenchOptions:
    incidents: int | None  # saturation: raise exactly this many; None = for `duration_s`
    duration_s: float
    rate: float
    latency_s: float
    baseline_messages: int


class Progress:
    """One line on stderr, rewritten in place."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.label = ""
        self.last = 0.0

    def phase(self, label: str) -> None:
        self.label = label
        self.update(0)

    def update(self, count: int) -> None:
        now = time.monotonic()
        if self.enabled and now - self.last > 0.2:
            self.last = now
            bar = "#" * min(30, count // 50)
            print(f"\r{self.label:<28} {count:>7} {bar:<30}", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.enabled:
            print(file=sys.stderr)


@contextmanager
def bench_stack() -> Iterator[Stack]:
    """A fresh embedded stack with the bench policy, started, and stopped (by PID) after."""
    with tempfile.TemporaryDirectory(prefix="custody-bench-") as root:
        Path(root).chmod(0o711)  # the Postgres user must be able to enter it
        stack = Stack(Path(root) / "stack", POLICY)
        try:
            stack.start()
            yield stack
        finally:
            stack.stop()


def run_bench(options: BenchOptions, progress: Progress) -> dict[str, Any]:
    progress.phase("starting the stack")
    try:
        with bench_stack() as stack:
            return run_loop(_measure(stack, options, progress))
    finally:
        progress.done()


async def _measure(stack: Stack, options: BenchOptions, progress: Progress) -> dict[str, Any]:
    progress.phase("baseline: raw 5-hop chain")
    baseline = await run_baseline(
        stack.nats_url,
        options.baseline_messages,
        options.rate,
        int(options.rate * options.latency_s),
    )
    token = stack.credentials()["bench"]
    progress.phase("saturation: raising")
    assert stack.supervisor is not None
    with PeakRss(stack.supervisor.pids) as memory:
        saturation = await _phase(
            stack, token, options.duration_s, None, options.incidents, progress
        )
    progress.phase(f"latency at {options.rate:g}/s")
    latency = await _phase(stack, token, options.latency_s, options.rate, None, progress)
    return report(baseline, saturation, latency, options) | {
        "peak_rss_mb": {name: round(mb, 1) for name, mb in sorted(memory.peaks.items())}
    }


async def _phase(
    stack: Stack,
    token: str,
    duration: float,
    rate: float | None,
    limit: int | None,
    progress: Progress,
) -> PipelineResult:
    run = Run()
    await raise_load(
        stack.intake_url,
        token,
        duration_s=duration if limit is None else 3600,
        rate=rate,
        run=run,
        progress=progress.update,
        limit=limit,
    )
    progress.phase("settling: paged + recorded")
    pages, ledger, duplicates = await settle(
        run, stack.sink_path, stack.database_url, 120, progress.update
    )
    return summarise(run, pages, ledger, duplicates)


def report(
    baseline: BaselineResult,
    saturation: PipelineResult,
    latency: PipelineResult,
    options: BenchOptions,
) -> dict[str, Any]:
    return {
        "incidents_per_s": round(saturation.incidents_per_s, 1),
        "p50_page_ms": round(latency.p50_page_ms, 1),
        "p99_page_ms": round(latency.p99_page_ms, 1),
        "p50_ledger_ms": round(latency.p50_ledger_ms, 1),
        "p99_ledger_ms": round(latency.p99_ledger_ms, 1),
        "baseline_msgs_per_s": round(baseline.msgs_per_s, 1),
        "baseline_p50_ms": round(baseline.p50_ms, 2),
        "baseline_p99_ms": round(baseline.p99_ms, 2),
        "ratio": round(saturation.incidents_per_s / baseline.msgs_per_s, 3),
        "lost": saturation.lost + latency.lost,
        "duplicate_pages": saturation.duplicate_pages + latency.duplicate_pages,
        "failed_raises": saturation.failed_raises + latency.failed_raises,
        "why_failed": {
            why: saturation.why_failed.get(why, 0) + latency.why_failed.get(why, 0)
            for why in {**saturation.why_failed, **latency.why_failed}
        },
        "saturation_incidents": saturation.incidents,
        "latency_incidents": latency.incidents,
        "rate": options.rate,
        "saturation": asdict(saturation),
        "latency": asdict(latency),
    }
