"""The batch document: items join once, a batch that left takes no more, and the rendering."""

from datetime import UTC, date, datetime

from custody_notifier.domain.digest import BatchDoc, BatchItem, render_batch

AT = datetime(2026, 11, 21, 22, 40, tzinfo=UTC).isoformat()
GREEN = BatchItem("esc-aaaa", "green", "disk 81% on db-2", "green", AT)
FOLLOWUP = BatchItem(
    "esc-bbbb", "followup", "checkout 5xx", "red", AT, "acknowledged by bob, still unresolved"
)
DEFERRED = BatchItem("esc-cccc", "deferred", "cache hit rate low", "yellow", AT)


def test_an_item_joins_once() -> None:
    doc = BatchDoc().with_item(GREEN)
    assert doc is not None
    assert doc.with_item(GREEN) is None
    assert BatchDoc.from_json(doc.to_json()) == doc


def test_the_digest_lists_greens_and_follow_ups_in_local_time() -> None:
    doc = BatchDoc(items=(GREEN, FOLLOWUP))
    page = render_batch(
        "digest", day=date(2026, 11, 22), recipient="bob", name="Bob Primary",
        timezone="Europe/Stockholm", channel="email", doc=doc, case_url_base="https://c.test",
    )  # fmt: skip
    assert page.subject == "[CUSTODY:DIGEST] 2026-11-22 · 1 informational, 1 follow-up"
    assert "Daily digest for Bob Primary, 2026-11-22 (Europe/Stockholm)" in page.body
    assert "  - [GREEN] disk 81% on db-2 (2026-11-21 23:40)" in page.body
    assert "    acknowledged by bob, still unresolved" in page.body
    assert "https://c.test/e/esc-bbbb" in page.body
    assert (page.kind, page.channel, page.escalation_id) == ("digest", "email", "")


def test_the_morning_batch_gives_each_item_its_ack_code() -> None:
    page = render_batch(
        "morning", day=date(2026, 11, 22), recipient="bob", name="Bob",
        timezone="Europe/Stockholm", channel="chat", doc=BatchDoc(items=(DEFERRED,)),
        case_url_base="https://c.test",
    )  # fmt: skip
    assert page.subject == "[CUSTODY:MORNING] 2026-11-22 · 1 deferred overnight"
    assert 'https://c.test/e/esc-cccc   Ack: reply "ack cccc"' in page.body
