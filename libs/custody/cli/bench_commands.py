"""`custody bench`: measure the full pipeline against the raw JetStream baseline."""

from __future__ import annotations

import argparse
from typing import Any

from custody.cli.context import Context
from custody.cli.output import emit


def bench(ctx: Context, args: argparse.Namespace) -> int:
    from custody.bench.runner import BenchOptions, Progress, run_bench

    options = BenchOptions(
        incidents=args.incidents,
        duration_s=args.duration,
        rate=args.rate,
        latency_s=args.latency_seconds,
        baseline_messages=args.baseline_messages,
    )
    result = run_bench(options, Progress(enabled=not ctx.json))
    rows = [
        ("incidents/s sustained (saturation)", result["incidents_per_s"]),
        ("baseline 5-hop msgs/s", result["baseline_msgs_per_s"]),
        ("ratio", result["ratio"]),
        (
            f"p50 / p99 publish → page ({result['rate']:g}/s)",
            f"{result['p50_page_ms']} / {result['p99_page_ms']} ms",
        ),
        ("p50 / p99 publish → ledger", f"{result['p50_ledger_ms']} / {result['p99_ledger_ms']} ms"),
        (
            "baseline p50 / p99 (5 hops)",
            f"{result['baseline_p50_ms']} / {result['baseline_p99_ms']} ms",
        ),
        ("lost", result["lost"]),
        ("duplicate pages", result["duplicate_pages"]),
        ("raises refused", _refused(result)),
        (
            "peak RSS under saturation, MiB",
            ", ".join(f"{k} {v:g}" for k, v in result["peak_rss_mb"].items()) or "n/a",
        ),
    ]
    human = "\n".join(f"{label:<40} {value}" for label, value in rows)
    emit(ctx.json, result, human)
    return 0 if result["lost"] == 0 and result["duplicate_pages"] == 0 else 1


def _refused(result: dict[str, Any]) -> str:
    why = ", ".join(f"{n} × {reason}" for reason, n in sorted(result["why_failed"].items()))
    return f"{result['failed_raises']} ({why})" if why else "0"


def register(add: Any) -> None:
    p = add("bench", bench, "benchmark the pipeline against a raw JetStream baseline")
    p.add_argument("--incidents", type=int, default=None, help="saturation: exactly N incidents")
    p.add_argument("--duration", type=float, default=20.0, help="saturation seconds (default 20)")
    p.add_argument("--rate", type=float, default=100.0, help="fixed rate for latency (default 100)")
    p.add_argument("--latency-seconds", type=float, default=10.0)
    p.add_argument("--baseline-messages", type=int, default=5000)
