"""The dev sink: one durable JSON line per page, every channel name mapped to it."""

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from custody_notifier.adapters.channels import CHANNEL_NAMES, JsonLinesSink, dev_channels
from custody_notifier.domain.render import render

from .pages import page


async def test_sink_appends_one_json_line_per_page(tmp_path: Path) -> None:
    path = tmp_path / "sink" / "pages.jsonl"
    sink = JsonLinesSink(path, now=lambda: datetime(2026, 11, 22, 2, 15, tzinfo=UTC))
    rendered = render(page(), timezone="Europe/Stockholm", case_url_base="https://c.example")

    provider_ids = await asyncio.gather(
        *(sink.send(rendered, "+46700000002", f"key-{i}") for i in range(20))
    )

    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 20
    assert len(set(provider_ids)) == 20
    first = json.loads(lines[0])
    assert {k: first[k] for k in ("page_id", "escalation_id", "recipient", "channel")} == {
        "page_id": "esc-7f3a:1:bob:sms:1",
        "escalation_id": "esc-7f3a",
        "recipient": "bob",
        "channel": "sms",
    }
    assert first["address"] == "+46700000002"
    assert (first["level"], first["attempt"]) == (1, 1)
    assert first["subject"] == rendered.subject
    assert first["body"] == rendered.body
    assert first["sent_at"] == "2026-11-22T02:15:00+00:00"


class CountingSink(JsonLinesSink):
    """Counts fsync'd writes, and fails the ones it is told to."""

    def __init__(self, path: Path, fail: bool = False) -> None:
        super().__init__(path)
        self.writes: list[int] = []
        self.fail = fail

    def _append(self, lines: str) -> None:
        self.writes.append(lines.count("\n"))
        if self.fail:
            raise OSError("disk full")
        super()._append(lines)


async def test_pages_sent_together_share_an_fsync_and_each_waits_for_its_own(
    tmp_path: Path,
) -> None:
    sink = CountingSink(tmp_path / "pages.jsonl")
    rendered = render(page(), timezone="Europe/Stockholm", case_url_base="https://c.example")

    await asyncio.gather(*(sink.send(rendered, "+46700000002", f"k{i}") for i in range(50)))

    lines = (tmp_path / "pages.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["idempotency_key"] for line in lines) == sorted(
        f"k{i}" for i in range(50)
    )
    assert sum(sink.writes) == 50
    assert len(sink.writes) < 50  # group commit: pages queued during a write share the next


async def test_a_failed_write_fails_every_page_in_it_and_not_later_ones(tmp_path: Path) -> None:
    sink = CountingSink(tmp_path / "pages.jsonl", fail=True)
    rendered = render(page(), timezone="Europe/Stockholm", case_url_base="https://c.example")

    results = await asyncio.gather(
        *(sink.send(rendered, "+46700000002", f"k{i}") for i in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, OSError) for r in results)
    sink.fail = False
    assert (await sink.send(rendered, "+46700000002", "after")).startswith("sink-")
    lines = (tmp_path / "pages.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["idempotency_key"] for line in lines] == ["after"]


async def test_the_same_idempotency_key_gets_the_same_provider_id(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path / "pages.jsonl")
    rendered = render(page(), timezone="UTC", case_url_base="https://c.example")
    assert await sink.send(rendered, "a", "k") == await sink.send(rendered, "a", "k")


def test_every_channel_name_goes_to_the_dev_sink(tmp_path: Path) -> None:
    channels = dev_channels(tmp_path / "pages.jsonl")
    assert set(channels) == set(CHANNEL_NAMES) == {"sms", "email", "chat", "webhook"}
    assert len({id(c) for c in channels.values()}) == 1
