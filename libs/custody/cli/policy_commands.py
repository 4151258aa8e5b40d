"""`custody policy validate|apply|diff|explain|schema`: the policy file and what it decides.

A broken file prints one line per problem (`file:line: field.path: what to do`) on stderr
and exits 1. `explain` is the what-if tool: it runs the router's own decision function on a
hypothetical event at a given instant, and raises nothing.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import nats
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from custody import clock, subjects
from custody.cli.context import CliError, Context
from custody.cli.output import emit
from custody.policy import Policy, PolicyError, load_policy, policy_version
from custody.policy.diff import diff_policies
from custody.policy.schema import render_schema
from custody.policy.store import apply_and_record, load_current

ENVELOPE = {"event_id", "escalation_id", "occurred_at", "traceparent", "tracestate"}


class _Reported(Exception):
    """The problems are printed already; exit with this code."""

    def __init__(self, code: int) -> None:
        self.code = code


def _load(ctx: Context, path: Path) -> Policy:
    try:
        return load_policy(path)
    except PolicyError as exc:
        if ctx.json:
            print(json.dumps({"ok": False, "problems": [p.__dict__ for p in exc.problems]}))
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        raise _Reported(1) from exc


def _reporting(fn: Any) -> Any:
    """Turn _Reported into an exit code, for plain and async commands alike."""

    async def run_async(ctx: Context, args: argparse.Namespace) -> int:
        try:
            return int(await fn(ctx, args))
        except _Reported as reported:
            return reported.code

    def run(ctx: Context, args: argparse.Namespace) -> Any:
        if inspect.iscoroutinefunction(fn):
            return run_async(ctx, args)
        try:
            return int(fn(ctx, args))
        except _Reported as reported:
            return reported.code

    return run


@asynccontextmanager
async def _policy_bucket(ctx: Context) -> AsyncIterator[tuple[JetStreamContext, KeyValue]]:
    url = os.environ.get("NATS_URL") or ctx.state().get("nats_url")
    if not url:
        raise CliError("needs NATS_URL, or a running `custody up` (state in --data-dir)")
    try:
        nc = await nats.connect(
            url, name="custody-cli", connect_timeout=5, max_reconnect_attempts=2
        )
    except Exception as exc:
        raise CliError(f"cannot reach NATS at {url}: {exc!r}") from exc
    try:
        js = nc.jetstream()
        yield js, await js.key_value(subjects.KV_POLICY)
    finally:
        await nc.close()


def validate(ctx: Context, args: argparse.Namespace) -> int:
    policy = _load(ctx, args.file)
    version = policy_version(policy)
    emit(ctx.json, {"ok": True, "version": version}, f"{args.file}: ok (policy {version})")
    return 0


async def apply(ctx: Context, args: argparse.Namespace) -> int:
    policy = _load(ctx, args.file)
    author = args.author or os.environ.get("USER") or "cli"
    async with _policy_bucket(ctx) as (js, kv):
        try:
            fact = await apply_and_record(js, kv, policy, author, clock.now())
        except ConnectionError as exc:
            raise CliError(f"{exc}; the policy is stored: re-run apply to record it") from exc
    data = {
        "version": fact.version,
        "previous_version": fact.previous_version,
        "new": fact.new,
        "author": fact.actor,
        "applied_at": fact.applied_at.isoformat(),
        "changes": list(fact.changes),
    }
    stored = "stored" if fact.new else "already stored"
    human = f"applied policy {fact.version} ({stored}; was {fact.previous_version}) by {author}"
    emit(ctx.json, data, "\n".join([human, *fact.changes]))
    return 0


async def diff(ctx: Context, args: argparse.Namespace) -> int:
    policy = _load(ctx, args.file)
    if args.against is not None:
        old: Policy | None = _load(ctx, args.against)
        old_version = policy_version(old) if old is not None else None
    else:
        async with _policy_bucket(ctx) as (_, kv):
            stored = await load_current(kv)
        old, old_version = (stored.policy, stored.version) if stored else (None, None)
    changes = diff_policies(old, policy)
    data = {
        "from": old_version,
        "to": policy_version(policy),
        "changes": [c.as_dict() for c in changes],
    }
    head = f"{old_version or '(nothing applied)'} → {data['to']}: {len(changes)} change(s)"
    emit(ctx.json, data, "\n".join([head, *(str(c) for c in changes)]))
    return 0


def _instant(text: str | None) -> datetime:
    if text is None:
        return clock.now()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise CliError(f"--at {text!r}: not ISO 8601 (e.g. 2026-03-29T02:30:00+01:00)") from exc
    if moment.tzinfo is None:
        raise CliError(f"--at {text!r}: give a UTC offset or Z, e.g. {text}+01:00 or {text}Z")
    return moment


async def explain(ctx: Context, args: argparse.Namespace) -> int:
    at = _instant(args.at)
    try:
        raw = sys.stdin.buffer.read() if str(args.event) == "-" else args.event.read_bytes()
    except OSError as exc:
        raise CliError(f"--event {args.event}: {exc.strerror or exc}") from exc
    if args.policy is not None:
        policy, source = _load(ctx, args.policy), str(args.policy)
        version = policy_version(policy)
    else:
        async with _policy_bucket(ctx) as (_, kv):
            stored = await load_current(kv)
        if stored is None:
            raise CliError("no policy applied: pass --policy FILE or run `custody policy apply`")
        policy, version, source = stored.policy, stored.version, "applied"
    # The router's own decision function, found by module path at run time as `custody run`
    # finds services (libs never imports a service): a what-if that cannot drift from it.
    router: Any = importlib.import_module("custody_router.domain.decision")
    try:
        fact = router.what_if(policy, version, raw, args.raised_by, at)
    except ValueError as exc:  # pydantic's ValidationError: the event file is not an event
        first = str(exc).splitlines()
        raise CliError(
            f"--event {args.event}: not an incident event: {' '.join(first[:3])}"
        ) from exc
    routed = fact.model_dump(mode="json", exclude=ENVELOPE)
    data = {"at": at.isoformat(), "policy_source": source, "routed": routed}
    emit(ctx.json, data, _describe(routed, at, source))
    return 0


def _describe(routed: dict[str, Any], at: datetime, source: str) -> str:
    why = routed["explanation"]
    lines = [
        f"policy    {why['policy_version']} ({source}) at {at.isoformat()}",
        f"class     {why['severity_class'].upper()}: {why['classification'].get('basis', '')}",
        f"rule      {why['rule']} → team {why['team']}",
        f"decision  {why['disposition']}: {why['reason']}",
        f"quiet     {why['quiet_hours'].get('summary', '')}",
    ]
    for level in routed["levels"]:
        lines.append(
            f"level {level['number']}   {', '.join(level['recipients'])} via "
            f"{'/'.join(level['channels'])}, wait {level['wait_s']:g}s: {level['why']}"
        )
    lines += [f"skipped   {s}" for s in why["skipped"]]
    lines.append(
        f"sla       {routed['acceptance_sla_s']}s; substitute {routed['substitute']}; "
        f"manager {routed['manager']}; last resort {routed['last_resort']}"
    )
    lines += [f"note      {n}" for n in why["notes"]]
    return "\n".join(lines)


def schema(ctx: Context, args: argparse.Namespace) -> int:
    text = render_schema()
    if args.output is None:
        sys.stdout.write(text)
        return 0
    args.output.write_text(text, encoding="utf-8")
    emit(ctx.json, {"written": str(args.output)}, f"wrote {args.output}")
    return 0


def register(add: Any) -> None:
    p = add("policy validate", _reporting(validate), "check a policy file: ok, or its problems")
    p.add_argument("file", type=Path)
    p = add("policy apply", _reporting(apply), "store a new version (KV) and record it (ledger)")
    p.add_argument("file", type=Path)
    p.add_argument("--author", default=None, help="who applies it (default: $USER)")
    p = add("policy diff", _reporting(diff), "what applying FILE would change")
    p.add_argument("file", type=Path)
    p.add_argument("--against", type=Path, default=None, help="another file, not the applied one")
    p = add("policy explain", _reporting(explain), "route a hypothetical event; raises nothing")
    p.add_argument("--event", type=Path, required=True, help="an incident event JSON file, or -")
    p.add_argument("--at", default=None, help="the instant, ISO 8601 with offset (default: now)")
    p.add_argument("--policy", type=Path, default=None, help="a file instead of the applied policy")
    p.add_argument("--raised-by", default=None, help="who raises it (default: the event's source)")
    p = add("policy schema", schema, "the policy's JSON Schema, for editor autocompletion")
    p.add_argument("--output", type=Path, default=None)
