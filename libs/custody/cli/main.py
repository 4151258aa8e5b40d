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

from custody import subjects
from custody.cli import commands, system
from custody.cli.context import CliError, Context
from custody.client import CustodyError


def _parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="custody", description="Escalation as custody transfer.")
    sub = top.add_subparsers(dest="command", required=True)

    def cmd(name: str, fn: Callable[..., Any], help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.add_argument(
            "--data-dir",
            type=Path,
            default=Path(os.environ.get("CUSTODY_DATA_DIR", ".custody")),
            help="where `custody up` keeps its state (default ./.custody)",
        )
        p.set_defaults(fn=fn)
        return p

    p = cmd("up", system.up, "run the whole system locally, in the foreground")
    p.add_argument("--policy", type=Path, default=None)
    p.add_argument("--replicas", default="", help="e.g. router=3,escalator=3")
    cmd("status", system.status, "the running system and each service's health")
    p = cmd("provision", system.provision, "create streams, consumers, buckets, schema")
    p.add_argument("--policy", type=Path, default=None)
    p.add_argument("--credentials", type=Path, default=None)
    p = cmd("run", system.run, "run one service in the foreground")
    p.add_argument("service", choices=subjects.SERVICES)

    p = cmd("raise", commands.raise_incident, "raise an incident")
    p.add_argument("--title", required=True)
    p.add_argument("--severity", required=True, choices=("red", "yellow", "green"))
    p.add_argument("--customer-impact", action="store_true")
    p.add_argument("--service")
    p.add_argument("--dedup-key")
    p.add_argument("--label", action="append", default=[], metavar="K=V")
    p.add_argument("--diagnosis", default="")
    p.add_argument("--signal", default="")
    p.add_argument("--proposed-action", default="")
    p.add_argument("--reversible", dest="reversible", action="store_true", default=None)
    p.add_argument("--irreversible", dest="reversible", action="store_false")
    p.add_argument("--agent-action", default="")
    p.add_argument("--as", dest="as_name")

    p = cmd("inbox", commands.inbox, "what you hold or are being offered")
    p.add_argument("--as", dest="as_name")
    p = cmd("show", commands.show, "one escalation with its case and timeline")
    p.add_argument("escalation_id")
    p.add_argument("--as", dest="as_name")
    p = cmd("trace", commands.trace, "every hop of one escalation")
    p.add_argument("escalation_id")
    p.add_argument("--as", dest="as_name")
    for action in ("ack", "resolve", "note"):
        p = cmd(action, commands.act, f"{action} an escalation")
        p.add_argument("escalation_id")
        p.add_argument("--as", dest="as_name")
        p.add_argument("--note", default="")
        p.set_defaults(action=action)
    p = cmd("reassign", commands.act, "offer custody to someone else")
    p.add_argument("escalation_id")
    p.add_argument("--to", required=True)
    p.add_argument("--as", dest="as_name")
    p.add_argument("--note", default="")
    p.set_defaults(action="reassign")
    p = cmd("decline", commands.act, "hand an offer back, with a reason")
    p.add_argument("escalation_id")
    p.add_argument("--reason", required=True)
    p.add_argument("--as", dest="as_name")
    p.set_defaults(action="decline")

    p = cmd("policy", commands.policy, "validate or apply a policy file")
    p.add_argument("verb", choices=("validate", "apply"))
    p.add_argument("file", type=Path)
    p = cmd("ledger", commands.ledger, "verify the ledger's hash chain")
    p.add_argument("verb", choices=("verify",))
    return top


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
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
    asyncio.run(module.main())
