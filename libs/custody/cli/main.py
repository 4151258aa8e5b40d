"""Entry point of the `custody` command: parse, dispatch, print one clear line on error."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from custody.cli.context import CliError, Context
from custody.client import CustodyError
from custody.loop import run_loop

Command = Callable[..., Any]
AddCommand = Callable[[str, Command, str], argparse.ArgumentParser]

# Each module registers its own commands; add a module here to add a command group.
COMMAND_MODULES = (
    "custody.cli.system",
    "custody.cli.commands",
    "custody.cli.intake_commands",
    "custody.cli.bench_commands",
    "custody.cli.policy_commands",
    "custody.cli.deploy",
    "custody.cli.report_commands",
)


def _parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="custody", description="Escalation as custody transfer.")
    sub = top.add_subparsers(dest="command", required=True)
    groups: dict[str, argparse._SubParsersAction[argparse.ArgumentParser]] = {}

    def add(name: str, fn: Command, help: str) -> argparse.ArgumentParser:
        """`name` may be "group verb" (e.g. "policy validate") for two-word commands."""
        group, _, verb = name.partition(" ")
        parent = sub
        if verb:
            if group not in groups:
                holder = sub.add_parser(group, help=f"{group} commands")
                groups[group] = holder.add_subparsers(dest="verb", required=True)
            parent = groups[group]
        p = parent.add_parser(verb or group, help=help)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.add_argument(
            "--data-dir",
            type=Path,
            default=Path(os.environ.get("CUSTODY_DATA_DIR", ".custody")),
            help="where `custody up` keeps its state (default ./.custody)",
        )
        p.set_defaults(fn=fn)
        return p

    for module in COMMAND_MODULES:
        importlib.import_module(module).register(add)
    return top


def log_to_stderr() -> None:
    """Log lines of in-process work (provisioning, the embedded stack) go to stderr: stdout
    carries only the command's output, which --json promises is one JSON document."""
    import structlog

    # sys.stderr looked up at each use, not bound now: a test harness may swap it meanwhile.
    structlog.configure(logger_factory=lambda *_: structlog.PrintLogger(sys.stderr))


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    log_to_stderr()  # `custody run` replaces this with the service's own telemetry.setup
    ctx = Context(data_dir=args.data_dir, json=args.json)
    try:
        result = args.fn(ctx, args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        code = int(result or 0)
    except CliError as exc:
        print(f"custody: {exc}", file=sys.stderr)
        code = 2
    except CustodyError as exc:
        print(f"custody: {exc}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


def run_service(name: str) -> None:
    """Services are found by module path, never imported by libs (see import-linter)."""
    module: Any = importlib.import_module(f"custody_{name}.app")
    run_loop(module.main())
