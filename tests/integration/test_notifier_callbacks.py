"""Acting from a page (acceptance 2): SMS reply codes count only from the number paged, links
act once and only by POST, chat buttons and email replies verify their provider's signature,
and every refusal is recorded. Each test ends by asserting exactly which commands reached the
escalator: nothing more."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from custody import clock
from custody.auth.links import ActionClaims, LinkKeys, issue, token_id_for
from custody.runtime.nats_server import NatsServer
from tests.fakes.intake import Callbacks, callback_env, running_callbacks
from tests.fakes.notifier import LINK_KEYS, bus_for, escalation, new_page

BOB_SMS, CAROL_SMS = "+46700000002", "+12125550003"


@pytest.fixture
async def cb(nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Callbacks]:
    callback_env(monkeypatch)
    async with bus_for(nats_server.url), running_callbacks(nats_server.url) as running:
        yield running


async def sms_page(cb: Callbacks, esc: str) -> str:
    """Bind bob's SMS reply code the way the notifier does when it sends; the code."""
    await cb.linker.bind(new_page(esc), BOB_SMS)
    return esc[-4:]


# --- SMS -----------------------------------------------------------------------------------


async def test_an_sms_ack_from_the_paged_number_acts(cb: Callbacks) -> None:
    esc = escalation()
    code = await sms_page(cb, esc)
    response = await cb.client.sms(BOB_SMS, f"ACK {code.upper()}")
    assert response.status_code == 200
    assert f"Acknowledged {esc}: now accepted" in response.text
    assert response.headers["content-type"].startswith("application/xml")
    assert cb.escalator.of(esc) == [("ack", "bob", "sms")]


async def test_an_sms_ack_from_another_number_is_refused_and_recorded(cb: Callbacks) -> None:
    esc = escalation()
    code = await sms_page(cb, esc)
    before = await cb.rejected("sms")
    response = await cb.client.sms(CAROL_SMS, f"ack {code}")
    assert response.status_code == 403
    assert response.json()["error_code"] == "wrong_sender"
    assert await cb.rejected("sms") == before + 1
    assert cb.escalator.of(esc) == []


@pytest.mark.parametrize("signing", ["wrong", "none"])
async def test_an_sms_with_a_bad_signature_gets_403(cb: Callbacks, signing: str) -> None:
    esc = escalation()
    code = await sms_page(cb, esc)
    response = await cb.client.sms(BOB_SMS, f"ack {code}", signing=signing)  # type: ignore[arg-type]
    assert response.status_code == 403
    assert response.json()["error_code"] == "bad_signature"
    assert cb.escalator.of(esc) == []


async def test_a_replayed_sms_callback_is_refused(cb: Callbacks) -> None:
    esc = escalation()
    code = await sms_page(cb, esc)
    first = await cb.client.sms(BOB_SMS, f"ack {code}", sid="SMreplayed" + esc)
    again = await cb.client.sms(BOB_SMS, f"ack {code}", sid="SMreplayed" + esc)
    assert first.status_code == 200
    assert again.status_code == 409
    assert again.json()["error_code"] == "replayed"
    assert cb.escalator.of(esc) == [("ack", "bob", "sms")]


async def test_an_sms_reply_works_once_per_action(cb: Callbacks) -> None:
    esc = escalation()
    code = await sms_page(cb, esc)
    assert (await cb.client.sms(BOB_SMS, f"ack {code}")).status_code == 200
    second = await cb.client.sms(BOB_SMS, f"ack {code}")
    assert second.status_code == 409
    assert (await cb.client.sms(BOB_SMS, f"resolve {code}")).status_code == 200
    assert cb.escalator.of(esc) == [("ack", "bob", "sms"), ("resolve", "bob", "sms")]


# --- links ---------------------------------------------------------------------------------


async def test_a_get_on_a_link_shows_a_confirmation_and_changes_nothing(cb: Callbacks) -> None:
    esc = escalation()
    links = cb.linker.links(new_page(esc, channel="email"))
    path = links.ack_url.removeprefix("http://intake.test")
    for _ in range(3):  # scanners may follow it many times
        page = await cb.http.get(path)
        assert page.status_code == 200
        assert '<form method="post">' in page.text
        assert esc in page.text
    assert cb.escalator.of(esc) == []
    done = await cb.http.post(path)
    assert done.status_code == 200
    assert cb.escalator.of(esc) == [("ack", "bob", "link")]


async def test_a_link_acts_once(cb: Callbacks) -> None:
    esc = escalation()
    path = cb.linker.links(new_page(esc, channel="email")).resolve_url.removeprefix(
        "http://intake.test"
    )
    assert (await cb.http.post(path)).status_code == 200
    replay = await cb.http.post(path)
    assert replay.status_code == 409
    assert replay.headers["x-custody-error"] == "used"
    shown = await cb.http.get(path)  # the GET now says so, and still changes nothing
    assert shown.status_code == 409
    assert cb.escalator.of(esc) == [("resolve", "bob", "link")]


async def test_an_expired_link_is_refused(cb: Callbacks) -> None:
    esc = escalation()
    claims = ActionClaims(
        "bob", esc, "ack", clock.now() - timedelta(seconds=1), token_id_for(esc, "x")
    )
    token = issue(LinkKeys.parse(LINK_KEYS), claims)
    assert (await cb.http.get(f"/a/{token}")).status_code == 410
    refused = await cb.http.post(f"/a/{token}")
    assert refused.status_code == 410
    assert refused.headers["x-custody-error"] == "expired"
    assert cb.escalator.of(esc) == []


async def test_a_tampered_or_foreign_link_is_refused(cb: Callbacks) -> None:
    esc = escalation()
    token = cb.linker.links(new_page(esc)).ack_token
    key_id, _, signature = token.split(".")
    other = cb.linker.links(new_page(escalation())).ack_token.split(".")[1]
    tampered = f"{key_id}.{other}.{signature}"  # someone else's claims under this signature
    assert (await cb.http.post(f"/a/{tampered}")).headers["x-custody-error"] == "bad_signature"
    retired = issue(LinkKeys.parse("k0:retired-key-0123456789"), _claims(esc))
    assert (await cb.http.post(f"/a/{retired}")).headers["x-custody-error"] == "unknown_key"
    assert (await cb.http.post("/a/not-a-token")).status_code == 403
    assert cb.escalator.of(esc) == []


async def test_a_link_signed_with_the_previous_key_still_works(cb: Callbacks) -> None:
    esc = escalation()
    older = LinkKeys.parse("k1:link-secret-older-0123456789")  # listed second: verify only
    token = issue(older, _claims(esc))
    assert (await cb.http.post(f"/a/{token}")).status_code == 200
    assert cb.escalator.of(esc) == [("ack", "bob", "link")]


def _claims(esc: str) -> ActionClaims:
    return ActionClaims("bob", esc, "ack", clock.now() + timedelta(hours=1), token_id_for(esc, "k"))


# --- email ---------------------------------------------------------------------------------


async def test_an_email_reply_from_the_paged_address_acts(cb: Callbacks) -> None:
    esc = escalation()
    links = await cb.linker.bind(new_page(esc, channel="email"), "bob@example.test")
    response = await cb.client.email("Bob@Example.test", links.reply_to, "ack\n\nOn Mon, X wrote:")
    assert response.status_code == 200, response.text
    assert cb.escalator.of(esc) == [("ack", "bob", "email")]


async def test_an_email_reply_from_someone_else_is_refused(cb: Callbacks) -> None:
    esc = escalation()
    links = await cb.linker.bind(new_page(esc, channel="email"), "bob@example.test")
    wrong = await cb.client.email("mallory@example.test", links.reply_to, "ack")
    assert wrong.status_code == 403
    assert wrong.json()["error_code"] == "wrong_sender"
    stale = await cb.client.email("bob@example.test", links.reply_to, "ack", signing="stale")
    assert stale.status_code == 403
    forged = await cb.client.email("bob@example.test", links.reply_to, "ack", signing="wrong")
    assert forged.status_code == 403
    first = await cb.client.email("bob@example.test", links.reply_to, "resolve", token="tok-" + esc)
    replay = await cb.client.email(
        "bob@example.test", links.reply_to, "resolve", token="tok-" + esc
    )
    assert (first.status_code, replay.status_code) == (200, 409)
    assert cb.escalator.of(esc) == [("resolve", "bob", "email")]


# --- chat ----------------------------------------------------------------------------------


async def test_a_chat_button_acts_once_for_its_recipient(cb: Callbacks) -> None:
    esc = escalation()
    links = cb.linker.links(new_page(esc, channel="chat"))
    assert (await cb.client.chat("ack", links.ack_token, signing="wrong")).status_code == 403
    assert (await cb.client.chat("ack", links.ack_token, signing="stale")).status_code == 403
    by_carol = await cb.client.chat("ack", links.ack_token, username="carol")
    assert by_carol.status_code == 403
    assert by_carol.json()["error_code"] == "wrong_sender"
    pressed = await cb.client.chat("ack", links.ack_token, trigger="trig-" + esc)
    assert pressed.status_code == 200
    assert pressed.json()["text"] == f"Acknowledged {esc}: now accepted"
    assert (await cb.client.chat("ack", links.ack_token, trigger="trig-" + esc)).status_code == 409
    assert (await cb.client.chat("ack", links.ack_token)).json()["error_code"] == "used"
    assert (await cb.client.chat("resolve", links.ack_token)).json()["error_code"] == "wrong_action"
    assert cb.escalator.of(esc) == [("ack", "bob", "chat")]


async def test_the_escalator_refusing_the_actor_is_passed_on(cb: Callbacks) -> None:
    esc = escalation()
    cb.escalator.refuse_actors.add("bob")
    try:
        code = await sms_page(cb, esc)
        refused = await cb.client.sms(BOB_SMS, f"ack {code}")
    finally:
        cb.escalator.refuse_actors.discard("bob")
    assert refused.status_code == 403
    assert refused.json()["error_code"] == "not_custodian"
    assert cb.escalator.of(esc) == [("ack", "bob", "sms")]  # asked, and refused by the escalator
