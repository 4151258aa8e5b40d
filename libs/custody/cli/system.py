"""Running the system: up, status, provision, run. (Policy commands: policy_commands.py.)"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path
from typing import Any

import httpx

from custody import subjects
from custody.cli.context import CliError, Context
from custody.cli.output import emit
from custody.policy import load_policy
from custody.provisioning import EXAMPLE_POLICY, provision_all


def up(ctx: Context, args: argparse.Namespace) -> int:
    from custody.runtime.stack import Stack

    replicas: dict[str, int] = {}
    for part in filter(None, args.replicas.split(",")):
        name, _, count = part.partition("=")
        if name not in subjects.SERVICES or not count.isdigit() or int(count) < 1:
            raise CliError(f"--replicas {part!r}: expected SERVICE=N with N >= 1")
        replicas[name] = int(count)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    policy = load_policy(args.policy or EXAMPLE_POLICY)
    # `custody show`/`trace` without --as act as the dev admin (dev mode only).
    dev = {"dev_admin": policy.admins[0] if policy.admins else None}
    stack = Stack(ctx.data_dir, args.policy, replicas=replicas, extra_state=dev)
    try:
        state = stack.start()
        print(f"custody ready: inbox {state['inbox_url']}  (state in {stack.state_path})")
        print(
            "  try: custody raise --as monitor-1 --severity red --service checkout "
            '--title "checkout 5xx" && custody inbox --as bob'
        )
        print(f"  pages land in {stack.sink_path}; Ctrl-C stops everything", flush=True)
        stop.wait()
    finally:
        print("custody: stopping", flush=True)
        stack.stop()
    return 0


async def status(ctx: Context, args: argparse.Namespace) -> int:
    state = ctx.state()
    if not state:
        raise CliError(f"nothing running: no state in {ctx.data_dir}")
    async with httpx.AsyncClient(timeout=2.0) as http:
        for name, info in state.get("services", {}).items():
            info["alive"] = _alive(int(info.get("pid", 0)))
            base = {"intake": state.get("intake_url"), "ledger": state.get("ledger_url")}.get(name)
            if base:
                try:
                    info["ready"] = (await http.get(f"{base}/readyz")).status_code == 200
                except httpx.HTTPError:
                    info["ready"] = False
    lines = [
        f"{n:<12} pid {i['pid']:<8} {'up' if i['alive'] else 'DOWN'}"
        for n, i in state.get("services", {}).items()
    ]
    emit(ctx.json, state, "\n".join(lines))
    return 0 if all(i["alive"] for i in state.get("services", {}).values()) else 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return pid > 0


async def provision(ctx: Context, args: argparse.Namespace) -> int:
    nats_url = os.environ.get("NATS_URL") or ctx.state().get("nats_url")
    if not nats_url:
        raise CliError("provision needs NATS_URL (and DATABASE_URL for the ledger schema)")
    database_url = os.environ.get("DATABASE_URL") or ctx.state().get("database_url")
    report = await provision_all(
        nats_url,
        database_url,
        args.policy or EXAMPLE_POLICY,
        args.credentials,
        stream_replicas=args.stream_replicas,
    )
    emit(ctx.json, report, f"provisioned: policy {report['policy_version']}")
    return 0


def run(ctx: Context, args: argparse.Namespace) -> int:
    from custody.cli.main import run_service

    run_service(args.service)
    return 0


__all__ = ["provision", "run", "status", "up"]


def register(add: Any) -> None:
    p = add("up", up, "run the whole system locally, in the foreground")
    p.add_argument("--policy", type=Path, default=None)
    p.add_argument("--replicas", default="", help="e.g. router=3,escalator=3")
    add("status", status, "the running system and each service's health")
    p = add("provision", provision, "create streams, consumers, buckets and the ledger schema")
    p.add_argument("--policy", type=Path, default=None)
    p.add_argument("--credentials", type=Path, default=None)
    p.add_argument("--stream-replicas", type=int, default=1, help="3 in a NATS cluster")
    p = add("run", run, "run one service in the foreground")
    p.add_argument("service", choices=subjects.SERVICES)
