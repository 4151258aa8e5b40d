"""Intake's commands: `custody rejected` (what intake refused) and `custody heartbeat NAME`."""

from __future__ import annotations

import argparse
from typing import Any

from custody.cli.context import Context
from custody.cli.output import emit, table
from custody.client import CustodyClient


async def rejected(ctx: Context, args: argparse.Namespace) -> int:
    token = ctx.token(args.as_name)
    rows = await CustodyClient(ctx.url("intake"), token).rejections(args.limit, args.source)
    cols = ["at", "source", "error_code", "field", "message"]
    emit(ctx.json, rows, table(rows, cols))
    return 0


async def heartbeat(ctx: Context, args: argparse.Namespace) -> int:
    token = ctx.token(args.as_name)
    result = await CustodyClient(ctx.url("intake"), token).heartbeat(args.name, args.interval)
    human = f"{result['name']}: ok, next ping due within {result['interval_s']:g}s"
    emit(ctx.json, result, human)
    return 0


def register(add: Any) -> None:
    p = add("rejected", rejected, "inputs intake refused, newest first, with why")
    p.add_argument("--source", help="only this source's (admins; others see their own)")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--as", dest="as_name")
    p = add("heartbeat", heartbeat, "ping a heartbeat; a missed interval raises an incident")
    p.add_argument("name")
    p.add_argument("--interval", help='declare or change the interval, e.g. "30s", "5m"')
    p.add_argument("--as", dest="as_name")
