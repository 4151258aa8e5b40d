"""The notifier with real channels against the fake providers: pages reach the provider once,
fall back on a permanent failure, record receipts, bundle SMS per number, and tell earlier
recipients when someone else acted. Every test ends by proving nothing more was sent."""

import json
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from custody import subjects
from custody.auth.links import ReplyBinding, sms_reply_key
from custody.runtime.nats_server import NatsServer
from custody_notifier.domain.claims import Claim, claim_key
from custody_notifier.receipts import RECEIPT_PATH, Receipts
from tests.fakes.callbacks import CallbackClient
from tests.fakes.http_sinks import SMS_TOKEN, Sinks, http_sinks
from tests.fakes.notifier import (
    Bus,
    bus_for,
    custody_fact,
    escalation,
    eventually,
    new_page,
    real_settings,
    running_notifier,
)
from tests.fakes.smtp import Smtp, parts, smtp_server


@pytest.fixture
def sinks() -> Iterator[Sinks]:
    with http_sinks() as running:
        yield running


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    with smtp_server() as running:
        yield running


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[Bus]:
    async with bus_for(nats_server.url) as running:
        yield running


async def test_a_red_page_goes_out_once_by_sms_and_binds_its_reply_code(
    bus: Bus, nats_server: NatsServer, tmp_path: Path, sinks: Sinks, smtp: Smtp
) -> None:
    esc = escalation()
    await bus.offered(esc)
    page = new_page(esc)
    async with running_notifier(real_settings(nats_server.url, tmp_path, sinks, smtp)):
        await bus.request(page)
        await eventually(lambda: bus.stored("sent", esc), "page_sent")
        await bus.request(page, msg_id=f"again:{page.event_id}")  # a redelivery
        await eventually(lambda: len(bus.announcements("sent", esc)) == 2, "re-announced")
    (call,) = sinks.sms.expect(lambda c: c.form.get("To") == "+46700000002")
    assert call.key == page.page_id
    assert call.form["Body"].splitlines()[-1].endswith(f'Ack: reply "ack {esc[-4:]}"')
    entry = await bus.delivery.get(sms_reply_key("+46700000002", esc[-4:]))
    binding = ReplyBinding.from_json(entry.value)
    assert (binding.recipient, binding.escalation_id) == ("bob", esc)
    sinks.assert_nothing_more()
    smtp.sink.assert_nothing_more()


async def test_a_permanent_sms_failure_falls_back_to_chat(
    bus: Bus, nats_server: NatsServer, tmp_path: Path, sinks: Sinks
) -> None:
    esc = escalation()
    await bus.offered(esc)
    sinks.sms.cue(400, times=1)  # e.g. the number is not an SMS number
    async with running_notifier(real_settings(nats_server.url, tmp_path, sinks, None)):
        await bus.request(new_page(esc))
        await eventually(lambda: bus.stored("failed", esc), "page_failed")
        await eventually(lambda: bus.stored("sent", esc), "the fallback page_sent")
    sinks.sms.expect(lambda c: c.status == 400)
    (chat,) = sinks.chat.expect(lambda c: c.json["channel"] == "@bob")
    assert chat.json["text"].startswith("[CUSTODY:RED]")
    assert bus.announcements("sent", esc) == [f"page_sent:{esc}.l1.bob.chat.a1"]
    fallback = Claim.from_json((await bus.claims.get(f"{esc}.1.bob.chat.1")).value)
    assert fallback.status == "sent"
    sinks.assert_nothing_more()


async def test_an_undelivered_receipt_fails_the_page_and_falls_back(
    bus: Bus, nats_server: NatsServer, tmp_path: Path, sinks: Sinks
) -> None:
    esc = escalation()
    await bus.offered(esc)
    receipts_url = "https://notifier.test"
    settings = real_settings(nats_server.url, tmp_path, sinks, None, receipts_url=receipts_url)
    async with running_notifier(settings) as built:
        page = new_page(esc)
        await bus.request(page)
        await eventually(lambda: bus.stored("sent", esc), "page_sent")
        (sms,) = await sinks.sms.arrive(lambda c: True)
        sid = Claim.from_json((await bus.claims.get(claim_key(page))).value).provider_id
        app = Receipts(
            built.parts["receipts"], built.parts["pages"], SMS_TOKEN, receipts_url + RECEIPT_PATH
        ).app()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://n") as http:
            client = CallbackClient(
                http,
                base_url="http://n",
                sms_token=SMS_TOKEN,
                chat_secret="",
                mail_key="",
                webhook_secrets=[],
            )
            forged = await client.sms_receipt(
                receipts_url + RECEIPT_PATH, sid, "undelivered", signing="wrong"
            )
            assert forged.status_code == 403
            good = await client.sms_receipt(receipts_url + RECEIPT_PATH, sid, "undelivered")
            assert good.json() == {"recorded": True}
            again = await client.sms_receipt(receipts_url + RECEIPT_PATH, sid, "undelivered")
            assert again.json() == {"recorded": True}
        await eventually(lambda: bus.stored("failed", esc), "page_failed from the receipt")
        await eventually(lambda: sinks.chat.calls, "the chat fallback")
    assert sms.form["StatusCallback"] == receipts_url + RECEIPT_PATH
    claim = Claim.from_json((await bus.claims.get(claim_key(page))).value)
    assert (claim.status, claim.receipt.split()[0]) == ("failed", "undelivered")
    sinks.chat.expect(lambda c: c.json["channel"] == "@bob")
    sinks.assert_nothing_more()


async def test_one_sms_per_number_per_window_and_the_rest_bundled(
    bus: Bus, nats_server: NatsServer, tmp_path: Path, sinks: Sinks
) -> None:
    escs = [escalation() for _ in range(3)]
    for esc in escs:
        await bus.offered(esc, recipient="alice")  # a number no other test pages
    settings = real_settings(nats_server.url, tmp_path, sinks, None, sms_window_s=2.0)
    async with running_notifier(settings):
        # The first page takes the window; the next two arrive once it is spent, so they must
        # wait for the next window and go together. (Pages that arrive while the first is
        # still being prepared may ride along with it instead: also one SMS per window.)
        await bus.request(
            new_page(escs[0], recipient="alice", title=f"service {escs[0][-4:]} down")
        )
        await eventually(lambda: bus.stored("sent", escs[0]), f"{escs[0]} sent", within=15)
        for esc in escs[1:]:
            await bus.request(new_page(esc, recipient="alice", title=f"service {esc[-4:]} down"))
        for esc in escs:
            await eventually(lambda e=esc: bus.stored("sent", e), f"{esc} sent", within=15)
    first, second = sinks.sms.expect(lambda c: c.status == 201, count=2)
    assert second.at - first.at >= 2.0, "the second SMS went out inside the window"
    bundle = second.form["Body"].splitlines()
    assert bundle[0].startswith("[CUSTODY:RED] 2 pages:")
    assert len(bundle) <= 6
    assert len(bundle[0]) <= 80
    first_codes = {e[-4:] for e in escs if e[-4:] in first.form["Body"]}
    bundled_codes = {e[-4:] for e in escs if f"ack {e[-4:]}" in second.form["Body"]}
    assert first_codes == {escs[0][-4:]}
    assert bundled_codes == {e[-4:] for e in escs[1:]}
    sinks.assert_nothing_more()


async def test_an_ack_by_carol_tells_bob_on_chat_once_and_never_by_sms(
    bus: Bus, nats_server: NatsServer, tmp_path: Path, sinks: Sinks, smtp: Smtp
) -> None:
    esc = escalation()
    fact = custody_fact(esc, "acknowledged", actor="carol", offered_to=("bob", "carol"))
    async with running_notifier(real_settings(nats_server.url, tmp_path, sinks, smtp)):
        await bus.fact(fact, subjects.custody_fact("acknowledged", esc))
        await bus.fact(fact, subjects.custody_fact("acknowledged", esc), msg_id="again")
        (notice,) = await sinks.chat.arrive(lambda c: c.json["channel"] == "@bob")
        await sinks.nothing_more()  # the redelivered fact sent nothing more
    local = fact.occurred_at.astimezone(ZoneInfo("Europe/Stockholm"))
    assert notice.json["text"].startswith(f"[CUSTODY:RED] acknowledged by carol, {local:%H:%M}")
    assert len(notice.json["text"]) <= 80
    sinks.assert_nothing_more()  # nothing to carol (she acted), no SMS to anyone
    smtp.sink.assert_nothing_more()


async def test_in_dev_notices_go_to_their_own_sink_file_never_among_pages(
    bus: Bus, nats_server: NatsServer, tmp_path: Path, smtp: Smtp
) -> None:
    esc = escalation()
    fact = custody_fact(esc, "resolved", actor="dave", state="resolved", offered_to=("bob", "dave"))
    # No chat provider configured: chat is the dev sink, which keeps notices in notices.jsonl.
    async with running_notifier(real_settings(nats_server.url, tmp_path, None, smtp)):
        await bus.fact(fact, subjects.custody_fact("resolved", esc))
        notices = tmp_path / "sink" / "notices.jsonl"
        line = await eventually(lambda: notices.exists() and notices.read_text(), "the notice")
    record = json.loads(line.splitlines()[0])
    assert (record["recipient"], record["channel"], record["kind"]) == ("bob", "chat", "notice")
    assert record["subject"].startswith("[CUSTODY:RED] resolved by dave, ")
    assert not (tmp_path / "sink" / "pages.jsonl").exists()  # notices never land among pages
    smtp.sink.assert_nothing_more()


async def test_the_digest_collects_greens_and_follow_ups_and_goes_out_once_at_0700(
    bus: Bus, nats_server: NatsServer, tmp_path: Path, sinks: Sinks, smtp: Smtp
) -> None:
    green, acked = escalation(), escalation()
    await bus.offered(green)  # the document names the routed recipient, bob
    digest = custody_fact(
        green, "deferred", state="digest", custodian=None, title="disk 81%", severity="green"
    )
    followup = custody_fact(
        acked, "followup", custodian="bob", reason="acknowledged by bob, still unresolved"
    )
    async with running_notifier(real_settings(nats_server.url, tmp_path, sinks, smtp)) as built:
        await bus.fact(digest, subjects.custody_fact("deferred", green))
        await bus.fact(followup, subjects.custody_fact("followup", acked))
        batches = built.parts["batches"]
        keys = await eventually(lambda: _batch_keys(bus), "both items collected")
        (key,) = keys
        day = key.rsplit(".", 1)[-1]
        seven = datetime.combine(date.fromisoformat(day), time(7), ZoneInfo("Europe/Stockholm"))
        assert await batches.tick(seven - timedelta(seconds=1)) == 0
        assert await batches.tick(seven) == 1
        assert await batches.tick(seven) == 0  # never twice
    (mail,) = smtp.sink.expect(lambda c: c.path == "DATA")
    text = parts(mail)["text"]
    assert parts(mail)["headers"]["subject"].startswith(f"[CUSTODY:DIGEST] {day}")
    assert "disk 81%" in text
    assert "still unresolved" in text
    smtp.sink.assert_nothing_more()
    sinks.assert_nothing_more()


async def _batch_keys(bus: Bus) -> list[str]:
    keys = [k for k in await bus.delivery.keys() if k.startswith("batch.digest.bob.")]
    if not keys:
        return []
    doc = json.loads((await bus.delivery.get(keys[0])).value)
    return keys if len(doc["items"]) == 2 else []
