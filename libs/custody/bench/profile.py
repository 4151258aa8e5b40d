"""Where the CPU of one escalation goes: `python -m custody.bench.profile [--incidents N]`.

Starts the bench's stack, warms it up, raises N incidents as fast as intake takes them, and
waits until each is paged and recorded. Around that it reads, from Linux's /proc, the CPU time
of every process on the machine (services, nats-server, Postgres, kernel threads, this load
generator), and from the NATS monitor how many messages each service's connection sent and
received. It prints both per escalation. `--py-spy SECONDS` also records a py-spy profile of
each service meanwhile (py-spy must be installed; it is not a dependency), as collapsed stacks
in `--out`. docs/performance.md has what it found.

The rest of the machine counts too: run it on an otherwise idle box.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import httpx

from custody.bench.pipeline import Run, raise_load, settle, summarise
from custody.bench.runner import bench_stack
from custody.cli.main import log_to_stderr
from custody.loop import run_loop
from custody.runtime.stack import Stack

WARM_UP = 200
SERVICES = ("intake", "router", "escalator", "notifier", "ledger")


@dataclass(frozen=True)
class CpuTimes:
    command: str
    total_ms: float
    user_ms: float


def cpu_snapshot(proc: Path = Path("/proc")) -> dict[int, CpuTimes]:
    """User + system CPU of every process readable now, by PID."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, CpuTimes] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        fields = stat.rsplit(")", 1)[1].split()  # the name before ")" may hold spaces
        user, system = int(fields[11]), int(fields[12])
        found[int(entry.name)] = CpuTimes(
            command, (user + system) * 1000 / tick, user * 1000 / tick
        )
    return found


def group_of(command: str, own_pid: int, pid: int) -> str:
    """Which part of the system a process is, from its command line."""
    if pid == own_pid:
        return "load generator"
    for service in SERVICES:
        if f"custody run {service}" in command:
            return service
    if "nats-server" in command:
        return "nats-server"
    if "postgres" in command:
        return "postgres"
    if not command:
        return "kernel threads"
    return "other"


def cpu_per_group(
    before: dict[int, CpuTimes], after: dict[int, CpuTimes], own_pid: int
) -> dict[str, tuple[float, float]]:
    """CPU ms (total, user) spent between the snapshots, summed by group. A process that
    started in between counts from zero."""
    groups: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for pid, now in after.items():
        then = before.get(pid)
        if then is not None and then.command != now.command:
            then = None  # the PID was reused
        spent = now.total_ms - (then.total_ms if then else 0.0)
        user = now.user_ms - (then.user_ms if then else 0.0)
        if spent > 0:
            group = groups[group_of(now.command, own_pid, pid)]
            group[0] += spent
            group[1] += user
    return {name: (total, user) for name, (total, user) in groups.items()}


async def connection_counts(monitor_url: str) -> dict[str, tuple[int, int]]:
    """Messages in and out of the server per client connection name."""
    async with httpx.AsyncClient() as client:
        reply = await client.get(f"{monitor_url}/connz", params={"limit": 1024})
    counts: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for conn in reply.json()["connections"]:
        name = conn.get("name") or f"cid {conn['cid']}"
        sent, received = counts[name]
        counts[name] = (sent + conn["in_msgs"], received + conn["out_msgs"])
    return dict(counts)


async def profile(stack: Stack, incidents: int, py_spy_s: float, out: Path) -> str:
    assert stack.nats is not None
    assert stack.supervisor is not None
    token = stack.credentials()["bench"]
    warm = Run()
    await raise_load(stack.intake_url, token, duration_s=3600, rate=None, run=warm, limit=WARM_UP)
    await settle(warm, stack.sink_path, stack.database_url, 60)
    spies = _start_py_spy(stack.supervisor.pids(), py_spy_s, out) if py_spy_s > 0 else []
    messages_before = await connection_counts(stack.nats.monitor_url)
    cpu_before, started = cpu_snapshot(), time.perf_counter()
    run = Run()
    await raise_load(stack.intake_url, token, duration_s=3600, rate=None, run=run, limit=incidents)
    pages, ledger, duplicates = await settle(run, stack.sink_path, stack.database_url, 120)
    wall = time.perf_counter() - started
    cpu = cpu_per_group(cpu_before, cpu_snapshot(), os.getpid())
    messages_after = await connection_counts(stack.nats.monitor_url)
    for spy in spies:
        spy.wait()
    result = summarise(run, pages, ledger, duplicates)
    return render(
        incidents, wall, result.incidents_per_s, result.lost, cpu, messages_before, messages_after
    )


def render(
    incidents: int,
    wall_s: float,
    per_s: float,
    lost: int,
    cpu: dict[str, tuple[float, float]],
    before: dict[str, tuple[int, int]],
    after: dict[str, tuple[int, int]],
) -> str:
    lines = [
        f"{incidents} incidents in {wall_s:.1f} s: {per_s:.1f} incidents/s, {lost} lost",
        f"{'process':<16} {'CPU ms/esc':>10} {'user':>6}",
    ]
    total = 0.0
    for name, (spent, user) in sorted(cpu.items(), key=lambda kv: -kv[1][0]):
        lines.append(f"{name:<16} {spent / incidents:>10.2f} {user / incidents:>6.2f}")
        total += spent / incidents
    lines.append(f"{'total':<16} {total:>10.2f}")
    lines.append(f"{'connection':<24} {'msgs in/esc':>11} {'out/esc':>8}")
    for name, (sent, received) in sorted(after.items()):
        sent0, received0 = before.get(name, (0, 0))
        lines.append(
            f"{name:<24} {(sent - sent0) / incidents:>11.2f} "
            f"{(received - received0) / incidents:>8.2f}"
        )
    return "\n".join(lines)


def _start_py_spy(pids: dict[str, int], seconds: float, out: Path) -> list[subprocess.Popen[bytes]]:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out.mkdir(parents=True, exist_ok=True)
    spies = []
    for name, pid in pids.items():
        argv = [py_spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "50"]
        argv += ["-f", "raw", "-o", str(out / f"{name}.txt"), "--nonblocking"]
        spies.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return spies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m custody.bench.profile", description=__doc__)
    parser.add_argument("--incidents", type=int, default=3000)
    parser.add_argument("--py-spy", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--out", type=Path, default=Path("profile"))
    args = parser.parse_args(argv)
    log_to_stderr()  # stdout is the report
    with bench_stack() as stack:
        print(run_loop(profile(stack, args.incidents, args.py_spy, args.out)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
