"""Responder and agent commands: raise, inbox, show, trace, ack/resolve/reassign/decline/note."""

from __future__ import annotations

import argparse
from typing import Any

from custody.cli.context import CliError, Context
from custody.cli.output import emit, table
from custody.client import CustodyClient, LedgerClient


def _principal(ctx: Context, args: argparse.Namespace) -> tuple[str, str]:
    name = getattr(args, "as_name", None)
    return ctx.token(name), name or ""


async def raise_incident(ctx: Context, args: argparse.Namespace) -> int:
    token, name = _principal(ctx, args)
    labels: dict[str, str] = {}
    for item in args.label:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"--label {item!r}: expected KEY=VALUE")
        labels[key] = value
    proof: dict[str, Any] = {
        "signal": args.signal,
        "diagnosis": args.diagnosis,
        "proposed_action": args.proposed_action,
        "reversible": args.reversible,
        "agent_action": args.agent_action,
    }
    if args.customer_impact:
        proof["thresholds"] = ["customer_impact"]
    client = CustodyClient(ctx.url("intake"), token)
    result = await client.raise_incident(
        title=args.title,
        severity=args.severity,
        source=name or "cli",
        dedup_key=args.dedup_key,
        customer_impact=args.customer_impact,
        service=args.service,
        labels=labels,
        proof=proof,
    )
    data = {
        "escalation_id": result.escalation_id,
        "status": "accepted",
        "duplicate": result.duplicate,
    }
    note = " (duplicate: already open)" if result.duplicate else ""
    emit(ctx.json, data, f"accepted {result.escalation_id}{note}")
    return 0


async def inbox(ctx: Context, args: argparse.Namespace) -> int:
    token, _ = _principal(ctx, args)
    rows = await LedgerClient(ctx.url("ledger"), token).get("/v1/inbox")
    cols = ["escalation_id", "severity", "state", "custodian", "raised_by", "title"]
    emit(ctx.json, rows, table(rows, cols))
    return 0


async def show(ctx: Context, args: argparse.Namespace) -> int:
    token, _ = _principal(ctx, args)
    esc = await LedgerClient(ctx.url("ledger"), token).get(f"/v1/escalations/{args.escalation_id}")
    proof = esc.get("proof", {})
    lines = [
        f"{esc['escalation_id']}  [{str(esc.get('severity', '')).upper()}] {esc.get('title', '')}",
        f"state: {esc.get('state')}   custodian: {esc.get('custodian')}   "
        f"raised by: {esc.get('raised_by')}",
        f"diagnosis: {proof.get('diagnosis') or '-'}",
        f"agent action: {proof.get('agent_action') or '-'}",
        f"proposed: {proof.get('proposed_action') or '-'}",
        f"routing: {esc.get('routing', {}).get('explanation') or '-'}",
        "timeline:",
        *(
            f"  {t['at']}  {t['kind']:<14} {t.get('actor') or ''}  {t.get('detail') or ''}"
            for t in esc.get("timeline", [])
        ),
    ]
    emit(ctx.json, esc, "\n".join(lines))
    return 0


async def trace(ctx: Context, args: argparse.Namespace) -> int:
    token, _ = _principal(ctx, args)
    data = await LedgerClient(ctx.url("ledger"), token).get(
        f"/v1/escalations/{args.escalation_id}/trace"
    )
    lines = [f"{data['escalation_id']}  trace {data.get('trace_id')}"]
    lines += [
        f"  {h['at']}  +{h['latency_ms']:>8.1f} ms  {h['service']:<10} {h['kind']}"
        for h in data.get("hops", [])
    ]
    emit(ctx.json, data, "\n".join(lines))
    return 0


async def act(ctx: Context, args: argparse.Namespace) -> int:
    token, _ = _principal(ctx, args)
    body: dict[str, Any] = {}
    if getattr(args, "note", ""):
        body["note"] = args.note
    if getattr(args, "reason", None):
        body["reason"] = args.reason
    if getattr(args, "to", None):
        body["to"] = args.to
    client = CustodyClient(ctx.url("intake"), token)
    result = await client.command(args.escalation_id, args.action, **body)
    if result.get("status") == "queued":
        emit(ctx.json, result, f"{args.action} queued for {args.escalation_id} (no answer yet)")
        return 0
    human = f"{args.escalation_id}: {result.get('state')} (custodian {result.get('custodian')})"
    emit(ctx.json, result, human)
    return 0


async def ledger(ctx: Context, args: argparse.Namespace) -> int:
    """Every link of the chain, and every signed checkpoint: from the file and public key in the
    data dir (where the ledger keeps them under `custody up`) and from the CHECKPOINTS stream."""
    import importlib
    import os

    database_url = os.environ.get("DATABASE_URL") or ctx.state().get("database_url")
    if not database_url:
        raise CliError("ledger verify needs DATABASE_URL or a running `custody up`")
    nats_url = os.environ.get("NATS_URL") or ctx.state().get("nats_url") or None
    module: Any = importlib.import_module("custody_ledger.verify")
    try:
        report: dict[str, Any] = await module.verify_ledger(
            database_url, data_dir=ctx.data_dir, nats_url=nats_url
        )
    except (OSError, ValueError) as exc:  # Postgres unreachable, an unreadable key file
        raise CliError(f"ledger verify: {exc}") from exc
    human = (
        f"ledger ok: {report['entries']} entries, {report['checkpoints']} signed checkpoints"
        if report["ok"]
        else f"ledger NOT ok at seq {report['first_bad_seq']}: {report['reason']}"
    )
    emit(ctx.json, report, human)
    return 0 if report["ok"] else 1


def register(add: Any) -> None:
    p = add("raise", raise_incident, "raise an incident")
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

    p = add("inbox", inbox, "what you hold or are being offered")
    p.add_argument("--as", dest="as_name")
    for name, fn, help in (
        ("show", show, "one escalation with its case and timeline"),
        ("trace", trace, "every hop of one escalation"),
    ):
        p = add(name, fn, help)
        p.add_argument("escalation_id")
        p.add_argument("--as", dest="as_name")
    for action in ("ack", "resolve", "note"):
        p = add(action, act, f"{action} an escalation")
        p.add_argument("escalation_id")
        p.add_argument("--as", dest="as_name")
        p.add_argument("--note", default="")
        p.set_defaults(action=action)
    p = add("reassign", act, "offer custody to someone else")
    p.add_argument("escalation_id")
    p.add_argument("--to", required=True)
    p.add_argument("--as", dest="as_name")
    p.add_argument("--note", default="")
    p.set_defaults(action="reassign")
    p = add("decline", act, "hand an offer back, with a reason")
    p.add_argument("escalation_id")
    p.add_argument("--reason", required=True)
    p.add_argument("--as", dest="as_name")
    p.set_defaults(action="decline")
    add("ledger verify", ledger, "verify the ledger's hash chain and checkpoints")
