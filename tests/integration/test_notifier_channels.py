"""Each channel adapter against a real fake provider on loopback: what goes on the wire, and
what each provider answer means (sent, refused for good, retry later, or in doubt)."""

import json
from collections.abc import Iterator

import httpx
import pytest

from custody.auth.signatures import WEBHOOK_SIGNATURE_HEADER, verify_webhook
from custody.runtime.ports import free_port
from custody_notifier.adapters.channels import DeliveryFailed, RetryLater
from custody_notifier.adapters.http_channels import SignedWebhook, SlackChat, TwilioSms
from custody_notifier.adapters.http_post import OutcomeUnknown, RetryPolicy
from custody_notifier.adapters.smtp import SmtpEmail, SmtpServer
from custody_notifier.domain.render import PageLinks, RenderedPage, render
from tests.fakes.http_sinks import SMS_SID, SMS_TOKEN, Sinks, http_sinks
from tests.fakes.smtp import Smtp, parts, smtp_server
from tests.unit.notifier.pages import page

POLICY = RetryPolicy(attempts=3, base_s=0.01)
LINKS = PageLinks(
    ack_url="https://intake.test/a/ACK",
    resolve_url="https://intake.test/a/RES",
    ack_token="ACK",
    resolve_token="RES",
    reply_to="reply+0123456789abcdef0123456789abcdef@reply.test",
)


@pytest.fixture
def sinks() -> Iterator[Sinks]:
    with http_sinks() as running:
        yield running


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    with smtp_server() as running:
        yield running


def rendered(channel: str) -> RenderedPage:
    return render(
        page(channel=channel, page_id=f"esc-7f3a.l1.bob.{channel}.a1"),
        timezone="Europe/Stockholm",
        case_url_base="https://custody.test",
        links=LINKS,
    )


def sms_channel(sinks: Sinks, client: httpx.AsyncClient, **kw: object) -> TwilioSms:
    return TwilioSms(
        client,
        base_url=sinks.url,
        account_sid=SMS_SID,
        auth_token=SMS_TOKEN,
        from_number="+15550000000",
        status_callback="https://notifier.test/v1/receipts/sms",
        policy=POLICY,
        **kw,  # type: ignore[arg-type]
    )


# --- email ---------------------------------------------------------------------------------


async def test_email_has_text_html_reply_to_and_threading(smtp: Smtp) -> None:
    channel = SmtpEmail(
        SmtpServer(smtp.host, smtp.port),
        sender="custody@test",
        message_domain="reply.test",
        policy=POLICY,
    )
    provider_id = await channel.send(
        rendered("email"), "bob@example.test", "esc-7f3a.l1.bob.email.a1"
    )

    (call,) = smtp.sink.expect(lambda c: c.path == "DATA")
    mail = parts(call)
    assert provider_id == "<esc-7f3a.l1.bob.email.a1@reply.test>"
    assert mail["headers"]["subject"] == "[CUSTODY:RED] checkout-api auth-chain-break (prod)"
    assert mail["headers"]["reply-to"] == LINKS.reply_to
    assert mail["headers"]["in-reply-to"] == "<esc-7f3a@reply.test>"
    assert mail["headers"]["references"] == "<esc-7f3a@reply.test>"
    assert call.json["rcpt_tos"] == ["bob@example.test"]
    assert "Acknowledge: https://intake.test/a/ACK" in mail["text"]
    assert "Diagnosis: JWT signing key rotated; all sessions rejected" in mail["text"]
    assert 'href="https://intake.test/a/RES"' in mail["html"]
    smtp.sink.assert_nothing_more()


async def test_a_refused_mailbox_is_a_permanent_failure(smtp: Smtp) -> None:
    smtp.sink.refuse_rcpt["nobody@example.test"] = "550 5.1.1 no such user"
    channel = SmtpEmail(
        SmtpServer(smtp.host, smtp.port), sender="c@test", message_domain="t", policy=POLICY
    )
    with pytest.raises(DeliveryFailed, match="550"):
        await channel.send(rendered("email"), "nobody@example.test", "k")
    smtp.sink.expect(lambda c: c.path.startswith("RCPT") and c.status == 550)
    smtp.sink.assert_nothing_more()


async def test_a_temporary_smtp_refusal_is_retried_then_left_for_later(smtp: Smtp) -> None:
    smtp.sink.data_reply = "451 4.3.0 try again later"
    channel = SmtpEmail(
        SmtpServer(smtp.host, smtp.port), sender="c@test", message_domain="t", policy=POLICY
    )
    with pytest.raises(RetryLater):
        await channel.send(rendered("email"), "bob@example.test", "k")
    smtp.sink.expect(lambda c: c.path == "DATA" and c.status == 451, count=3)
    smtp.sink.assert_nothing_more()


async def test_an_smtp_server_that_is_not_there_is_retry_later() -> None:
    channel = SmtpEmail(
        SmtpServer("127.0.0.1", free_port()), sender="c@test", message_domain="t", policy=POLICY
    )
    with pytest.raises(RetryLater):
        await channel.send(rendered("email"), "bob@example.test", "k")


# --- SMS -----------------------------------------------------------------------------------


async def test_sms_posts_the_page_with_auth_idempotency_key_and_status_callback(
    sinks: Sinks,
) -> None:
    async with httpx.AsyncClient() as client:
        sid = await sms_channel(sinks, client).send(rendered("sms"), "+46700000002", "page-1")
    (call,) = sinks.sms.expect(lambda c: True)
    assert sid.startswith("SM")
    assert call.key == "page-1"
    assert call.form["To"] == "+46700000002"
    assert call.form["From"] == "+15550000000"
    assert call.form["StatusCallback"] == "https://notifier.test/v1/receipts/sms"
    assert call.form["Body"] == rendered("sms").body
    assert len(call.form["Body"].splitlines()) == 6
    sinks.assert_nothing_more()


async def test_sms_429_honours_retry_after_without_retrying_inside(sinks: Sinks) -> None:
    sinks.sms.cue(429, times=1, retry_after=7)
    async with httpx.AsyncClient() as client:
        with pytest.raises(RetryLater) as caught:
            await sms_channel(sinks, client).send(rendered("sms"), "+46700000002", "page-1")
    assert caught.value.after_s == 7
    assert caught.value.provider_wide
    sinks.sms.expect(lambda c: c.status == 429)
    sinks.assert_nothing_more()


async def test_sms_500_is_retried_under_the_same_idempotency_key(sinks: Sinks) -> None:
    sinks.sms.cue(500, times=2)
    async with httpx.AsyncClient() as client:
        sid = await sms_channel(sinks, client).send(rendered("sms"), "+46700000002", "page-9")
    calls = sinks.sms.expect(lambda c: c.key == "page-9", count=3)
    assert [c.status for c in calls] == [500, 500, 201]
    assert sid.startswith("SM")
    sinks.assert_nothing_more()


async def test_sms_to_an_invalid_number_is_a_permanent_failure(sinks: Sinks) -> None:
    sinks.sms.cue(400, times=1)
    async with httpx.AsyncClient() as client:
        with pytest.raises(DeliveryFailed, match="400"):
            await sms_channel(sinks, client).send(rendered("sms"), "+0", "page-1")
    sinks.sms.expect(lambda c: c.status == 400)
    sinks.assert_nothing_more()


async def test_a_provider_that_is_not_there_is_retry_later() -> None:
    dead = Sinks(f"http://127.0.0.1:{free_port()}", *(None,) * 3)  # type: ignore[arg-type]
    async with httpx.AsyncClient() as client:
        with pytest.raises(RetryLater, match="connect"):
            await sms_channel(dead, client).send(rendered("sms"), "+46700000002", "k")


# --- chat ----------------------------------------------------------------------------------


async def test_chat_posts_blocks_with_signed_ack_and_resolve_buttons(sinks: Sinks) -> None:
    async with httpx.AsyncClient() as client:
        channel = SlackChat(client, webhook_url=f"{sinks.url}/chat", policy=POLICY)
        await channel.send(rendered("chat"), "@bob", "page-c")
    (call,) = sinks.chat.expect(lambda c: True)
    assert call.json["channel"] == "@bob"
    assert call.json["text"] == "[CUSTODY:RED] checkout-api auth-chain-break (prod)"
    buttons = call.json["blocks"][-1]["elements"]
    assert [(b["action_id"], b.get("value")) for b in buttons] == [
        ("ack", "ACK"),
        ("resolve", "RES"),
        ("open", None),
    ]
    sinks.assert_nothing_more()


async def test_a_chat_500_is_in_doubt_and_not_retried(sinks: Sinks) -> None:
    sinks.chat.cue(500, times=5)
    async with httpx.AsyncClient() as client:
        channel = SlackChat(client, webhook_url=f"{sinks.url}/chat", policy=POLICY)
        with pytest.raises(OutcomeUnknown):
            await channel.send(rendered("chat"), "@bob", "page-c")
    sinks.chat.expect(lambda c: c.status == 500)  # exactly one call: Slack has no idempotency key
    sinks.assert_nothing_more()


# --- webhook -------------------------------------------------------------------------------


async def test_webhook_is_signed_with_every_secret_so_either_verifies(sinks: Sinks) -> None:
    new, old = b"new-secret-0123456789", b"old-secret-0123456789"
    async with httpx.AsyncClient() as client:
        channel = SignedWebhook(client, secrets=[new, old], policy=POLICY)
        await channel.send(rendered("webhook"), f"{sinks.url}/hook/bob", "page-w")
    (call,) = sinks.webhook.expect(lambda c: True)
    header = call.headers[WEBHOOK_SIGNATURE_HEADER.lower()]
    assert header.count("v1=") == 2
    assert verify_webhook([old], header, call.body)  # a receiver not yet rotated
    assert verify_webhook([new], header, call.body)  # a receiver already rotated
    assert not verify_webhook([b"another-secret-0123"], header, call.body)
    assert not verify_webhook([new], header, call.body + b" ")
    assert call.key == "page-w"
    assert json.loads(call.body)["event"]["id"] == "esc-7f3a.l1.bob.webhook.a1"
    sinks.assert_nothing_more()


async def test_a_webhook_contact_that_is_no_url_fails_without_a_call(sinks: Sinks) -> None:
    async with httpx.AsyncClient() as client:
        channel = SignedWebhook(client, secrets=[b"s" * 20], policy=POLICY)
        with pytest.raises(DeliveryFailed):
            await channel.send(rendered("webhook"), "ftp://nope", "k")
    sinks.assert_nothing_more()
