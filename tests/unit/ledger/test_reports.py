"""`custody report`: the Monday-morning numbers, from hand-made report rows."""

from datetime import UTC, datetime, timedelta
from typing import Any

from custody_ledger.domain.projection import Escalation
from custody_ledger.domain.report_projection import EscalationStats, InDoubtPage
from custody_ledger.domain.reports import Row, build

NOW = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)  # a Monday morning


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def row(eid: str, state: str = "resolved", custodian: str | None = "bob", **stats: Any) -> Row:
    return Row(
        EscalationStats(escalation_id=eid, **stats),
        Escalation(escalation_id=eid, title=f"t-{eid}", state=state, custodian=custodian),
    )


ROWS = [
    row("r1", severity="red", team="payments", opened_at=ago(50), first_offered_at=ago(50),
        acknowledged_at=ago(50) + timedelta(seconds=60), ack_level=1,
        level_offered_at=((1, ago(50)),), resolved_at=ago(49)),
    row("r2", severity="red", team="payments", opened_at=ago(30),
        acknowledged_at=ago(30) + timedelta(seconds=600), ack_level=2,
        level_offered_at=((1, ago(30)), (2, ago(30) + timedelta(seconds=300))),
        resolved_at=ago(28), handoffs=1, exception_class="legal_hold"),
    row("y1", state="accepted", severity="yellow", team="search", opened_at=ago(5),
        acknowledged_at=ago(4), ack_level=1, level_offered_at=((1, ago(5)),),
        followup_at=ago(1), followup_reason="acked 4 h ago, unresolved", last_progress_at=ago(4)),
    row("old", state="offered", severity="red", team="payments", opened_at=ago(24 * 30),
        last_progress_at=ago(24 * 29), handoffs=3),
]  # fmt: skip


def report(**kw: Any) -> dict[str, Any]:
    return build(ROWS, kw.get("pages", []), kw.get("reviews", []), now=NOW, days=7)


def test_mtta_and_mttr_by_severity_and_team_cover_the_window_only() -> None:
    result = report()
    assert result["by_severity"]["red"] == {
        "escalations": 2, "acknowledged": 2, "resolved": 2, "mtta_s": 330.0, "mttr_s": 5400.0,
    }  # fmt: skip
    assert result["by_severity"]["yellow"]["mtta_s"] == 3600.0
    assert result["by_severity"]["yellow"]["mttr_s"] is None
    assert set(result["by_team"]) == {"payments", "search"}
    assert result["totals"]["escalations"] == 3  # "old" was opened before the window


def test_acceptance_time_is_measured_from_the_offer_at_the_level_that_accepted() -> None:
    levels = report()["acceptance_by_level"]
    assert levels["1"] == {"acknowledged": 2, "mean_s": 1830.0, "p50_s": 1830.0, "max_s": 3600.0}
    assert levels["2"]["mean_s"] == 300.0


def test_handoffs_and_the_exception_rate() -> None:
    result = report()
    assert result["handoffs"]["by_escalation"] == [{"escalation_id": "r2", "handoffs": 1}]
    assert result["handoffs"]["max"] == 1
    assert result["exception_rate"] == {
        "rate": 0.3333, "exceptions": 1, "escalations": 3, "by_class": {"legal_hold": 1},
    }  # fmt: skip


def test_stalled_lists_every_unresolved_escalation_longest_without_progress_first() -> None:
    stalled = report()["stalled"]
    assert [s["escalation_id"] for s in stalled] == ["old", "y1"]
    assert stalled[0]["custodian"] == "bob"
    assert stalled[0]["stalled_s"] == 29 * 24 * 3600


def test_the_daily_table_spans_the_window() -> None:
    days = report()["daily"]
    assert len(days) == 8  # 7 days back to today, inclusive
    assert sum(d["raised"] for d in days) == 3
    assert days[-1]["date"] == "2026-03-30"
    today = days[-1]
    assert (today["raised"], today["acknowledged"], today["by_severity"]) == (1, 1, {"yellow": 1})


def test_followups_in_doubt_pages_and_reviews_are_listed() -> None:
    page = InDoubtPage("m", "r2", "p", "bob", "sms", 1, ago(30))
    stale = InDoubtPage("m0", "old", "p0", "bob", "sms", 1, ago(24 * 30))
    review = {"review_id": "rv", "escalation_id": "r1", "at": ago(40).isoformat(), "gap": "alert"}
    result = report(pages=[stale, page], reviews=[review])
    assert [p["escalation_id"] for p in result["pending_followups"]] == ["y1"]
    assert result["pending_followups"][0]["reason"] == "acked 4 h ago, unresolved"
    assert [p["page_id"] for p in result["in_doubt_pages"]] == ["p"]
    assert result["reviews"] == [review]
