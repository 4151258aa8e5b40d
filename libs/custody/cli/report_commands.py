"""`custody report [--days 7]` and `custody review ID`: read from, and write to, the ledger API."""

from __future__ import annotations

import argparse
from typing import Any

import httpx

from custody.cli.context import CliError, Context
from custody.cli.output import emit, table
from custody.client import CustodyError, LedgerClient


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f} min"


def _times(groups: dict[str, Any]) -> list[str]:
    return [
        f"  {name:<12} {g['escalations']:>4} escalations  MTTA {_minutes(g['mtta_s']):>10}"
        f"  MTTR {_minutes(g['mttr_s']):>10}"
        for name, g in groups.items()
    ]


def _human(report: dict[str, Any]) -> str:
    window = report["window"]
    rate = report["exception_rate"]
    handoffs = report["handoffs"]
    lines = [
        f"escalations opened in the last {window['days']} days: "
        f"{report['totals']['escalations']} (until {window['until']})",
        "by severity:", *_times(report["by_severity"]),
        "by team:", *_times(report["by_team"]),
        "acceptance time per chain level:",
        *(f"  level {level}: mean {_minutes(v['mean_s'])}, p50 {_minutes(v['p50_s'])}"
          f" ({v['acknowledged']} acks)" for level, v in report["acceptance_by_level"].items()),
        f"handoffs per escalation: mean {handoffs['mean']}, max {handoffs['max']}",
        f"exception rate: {rate['rate']:.1%} ({rate['exceptions']} of {rate['escalations']})",
        "stalled (the Monday-morning checklist):",
        table(report["stalled"], ["escalation_id", "severity", "state", "custodian", "team",
                                  "last_progress_at", "title"]),
        "per day:",
        table(report["daily"], ["date", "raised", "acknowledged", "resolved"]),
        "pending follow-ups:",
        table(report["pending_followups"], ["escalation_id", "custodian", "followup_at",
                                            "reason"]),
        "in-doubt pages:",
        table(report["in_doubt_pages"], ["escalation_id", "recipient", "channel", "level", "at"]),
        "reviews:",
        table(report["reviews"], ["escalation_id", "author", "threshold_right", "gap",
                                  "gap_detail"]),
    ]  # fmt: skip
    return "\n".join(lines)


async def report(ctx: Context, args: argparse.Namespace) -> int:
    if args.days < 1:
        raise CliError(f"--days {args.days}: expected a whole number of days, 1 or more")
    token = ctx.token(args.as_name)
    data = await LedgerClient(ctx.url("ledger"), token).get(f"/v1/reports?days={args.days}")
    emit(ctx.json, data, _human(data))
    return 0


async def _post(base_url: str, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """One POST to the ledger; its refusal comes back as the CLI's one-line error."""
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as http:
            response = await http.post(path, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise CustodyError(0, "unreachable", "", f"{base_url}: {exc!r}") from exc
    data: dict[str, Any] = response.json()
    if response.status_code >= 400:
        raise CustodyError(
            response.status_code,
            str(data.get("error_code", "error")),
            str(data.get("field", "")),
            str(data.get("message", response.text)),
        )
    return data


async def review(ctx: Context, args: argparse.Namespace) -> int:
    body = {
        "threshold_right": args.threshold_right == "yes",
        "if_earlier": args.if_earlier,
        "gap": args.gap,
        "threshold_note": args.threshold_note,
        "gap_detail": args.gap_detail,
    }
    token = ctx.token(args.as_name)
    path = f"/v1/escalations/{args.escalation_id}/reviews"
    data = await _post(ctx.url("ledger"), token, path, body)
    again = " (already recorded)" if data.get("duplicate") else ""
    emit(ctx.json, data, f"review {data['review_id']} attached to {args.escalation_id}{again}")
    return 0


def register(add: Any) -> None:
    p = add("report", report, "MTTA/MTTR, handoffs, stalled escalations, follow-ups, reviews")
    p.add_argument("--days", type=int, default=7, help="the window (default 7)")
    p.add_argument("--as", dest="as_name")
    p = add("review", review, "attach a post-escalation review (after resolve)")
    p.add_argument("escalation_id")
    p.add_argument("--as", dest="as_name")
    p.add_argument(
        "--threshold-right",
        required=True,
        choices=("yes", "no"),
        help="did the threshold fire in the right place?",
    )
    p.add_argument("--if-earlier", required=True, help="what firing earlier would have changed")
    p.add_argument(
        "--gap",
        required=True,
        choices=("runbook", "alert", "ownership", "none"),
        help="which gap caused it",
    )
    p.add_argument("--gap-detail", default="", help="which runbook, alert or owner")
    p.add_argument("--threshold-note", default="")
