"""Every SMS-class shape stays within the page format for any text: the bundled SMS, the
cross-channel notice and the batch subjects (subject <= 80 characters, SMS body <= 6 lines),
including emoji sequences, flags and right-to-left text; clipping never cuts a grapheme."""

from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from custody.contracts import Severity
from custody_notifier.domain.digest import BatchDoc, BatchItem, render_batch
from custody_notifier.domain.notices import render_notice
from custody_notifier.domain.render import SMS_LINES, SUBJECT_MAX, render
from custody_notifier.domain.throttle import MAX_BUNDLE, Waiting, bundle_page

from .pages import page

SAMPLES = [
    "👨‍👩‍👧‍👦",
    "🇸🇪🇺🇸",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "👍🏽",
    "שלום עולם",
    "مرحبا بالعالم",
    "e\u0301",
    "\u202e",
    "\n",
    "\u2028",
    "\x00",
]
TEXT = st.lists(st.one_of(st.text(max_size=40), st.sampled_from(SAMPLES)), max_size=30).map("".join)
NOW = datetime(2026, 11, 22, 2, 16, tzinfo=UTC)


def no_broken_cluster(text: str) -> bool:
    """A clip never leaves a dangling joiner or a lone half of a flag before its "…"."""
    if not text.endswith("…"):
        return True
    before = text[:-1]
    return not before.endswith("\u200d") and not (
        before and 0x1F1E6 <= ord(before[-1]) <= 0x1F1FF and _odd_flags(before)
    )


def _odd_flags(text: str) -> bool:
    run = 0
    for ch in reversed(text):
        if not 0x1F1E6 <= ord(ch) <= 0x1F1FF:
            break
        run += 1
    return run % 2 == 1


@settings(max_examples=200, deadline=None)
@given(
    titles=st.lists(TEXT, min_size=1, max_size=MAX_BUNDLE),
    ids=st.lists(TEXT, min_size=4, max_size=4),
)
def test_a_bundled_sms_is_still_one_sms_page(titles: list[str], ids: list[str]) -> None:
    first = render(page(title=titles[0]), timezone="Asia/Tehran", case_url_base="https://c.example")
    riders = [
        Waiting(f"k{i}", f"p{i}", f"esc-{ids[i][:50]}", "bob", "sms", 1, 1, 1, "yellow", t, "ab12")
        for i, t in enumerate(titles[1:])
    ]
    bundle = bundle_page(first, riders, "https://c.example/")
    lines = bundle.body.split("\n")
    assert len(bundle.subject) <= SUBJECT_MAX
    assert len(lines) <= SMS_LINES
    assert bundle.body.splitlines() == lines
    assert lines[0] == bundle.subject
    assert no_broken_cluster(bundle.subject)
    assert all(f"ack {w.ack_code}" in bundle.body for w in riders)


@settings(max_examples=200, deadline=None)
@given(title=TEXT, actor=TEXT)
def test_a_notice_subject_fits_and_names_who_acted(title: str, actor: str) -> None:
    notice = render_notice(
        change="acknowledged",
        actor=actor[:128],
        at=NOW,
        timezone="Europe/Stockholm",
        escalation_id="esc-7f3a",
        title=title[:200],
        severity=Severity.RED.value,
        recipient="bob",
        channel="chat",
        version=4,
        case_url_base="https://c.example",
    )
    assert len(notice.subject) <= SUBJECT_MAX
    assert notice.subject.startswith("[CUSTODY:RED] acknowledged by ")
    assert "\n" not in notice.subject
    assert no_broken_cluster(notice.subject)


@settings(max_examples=100, deadline=None)
@given(titles=st.lists(TEXT, max_size=12), name=TEXT)
def test_batch_subjects_fit_and_every_item_is_listed(titles: list[str], name: str) -> None:
    items = tuple(
        BatchItem(f"esc-{i:04x}", "deferred", t[:200], "yellow", NOW.isoformat())
        for i, t in enumerate(titles)
    )
    batch = render_batch(
        "morning",
        day=date(2026, 11, 22),
        recipient="bob",
        name=name,
        timezone="Europe/Stockholm",
        channel="email",
        doc=BatchDoc(items=items),
        case_url_base="https://c.example",
    )
    assert len(batch.subject) <= SUBJECT_MAX
    assert all(f"/e/esc-{i:04x}" in batch.body for i in range(len(items)))
