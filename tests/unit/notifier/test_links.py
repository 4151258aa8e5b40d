"""Signed action tokens (custody.auth.links) and provider signatures (custody.auth.signatures):
bound to recipient, escalation, action and expiry; rotatable keys; constant-time checks."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custody.auth import signatures as sig
from custody.auth.links import (
    ActionClaims,
    LinkKeys,
    TokenRefused,
    dev_keys,
    issue,
    mail_reply_id,
    phone_digits,
    sms_reply_key,
    spent_key,
    token_id_for,
    verify,
    verifying_keys,
)

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
KEYS = LinkKeys.parse("k2:newest-secret-0123456789, k1:older-secret-0123456789")
CLAIMS = ActionClaims("bob", "esc-7f3a", "ack", NOW + timedelta(hours=1), token_id_for("p", "ack"))


def test_a_token_round_trips_with_its_key_id() -> None:
    token = issue(KEYS, CLAIMS)
    assert token.startswith("k2.")
    assert verify(KEYS, token, NOW) == ActionClaims(**{**CLAIMS.__dict__, "key_id": "k2"})
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_rotation_old_tokens_verify_until_their_key_is_dropped() -> None:
    old = issue(LinkKeys.parse("k1:older-secret-0123456789"), CLAIMS)
    assert verify(KEYS, old, NOW).key_id == "k1"
    with pytest.raises(TokenRefused) as refused:
        verify(LinkKeys.parse("k3:brand-new-secret-012345"), old, NOW)
    assert refused.value.code == "unknown_key"


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), "bad_signature"),
        (lambda t: t.replace("k2.", "k1.", 1), "bad_signature"),  # another listed key
        (lambda t: "garbage", "malformed"),
        (lambda t: t + ".extra", "malformed"),
    ],
)
def test_any_change_to_a_token_is_refused(mutate: object, code: str) -> None:
    with pytest.raises(TokenRefused) as refused:
        verify(KEYS, mutate(issue(KEYS, CLAIMS)), NOW)  # type: ignore[operator]
    assert refused.value.code == code


def test_claims_cannot_be_moved_to_another_escalation_or_person() -> None:
    mine = issue(KEYS, CLAIMS).split(".")
    theirs = issue(
        KEYS, ActionClaims("carol", "esc-9999", "resolve", CLAIMS.expires_at, "x")
    ).split(".")
    with pytest.raises(TokenRefused):
        verify(KEYS, f"{mine[0]}.{theirs[1]}.{mine[2]}", NOW)


def test_an_expired_token_is_refused() -> None:
    with pytest.raises(TokenRefused) as refused:
        verify(KEYS, issue(KEYS, CLAIMS), CLAIMS.expires_at)
    assert refused.value.code == "expired"


def test_single_use_is_per_token_and_action() -> None:
    assert spent_key(CLAIMS) == f"link.ack.{CLAIMS.token_id}"
    assert spent_key(CLAIMS, "resolve") != spent_key(CLAIMS)
    assert token_id_for("p", "ack") == token_id_for("p", "ack") != token_id_for("p", "resolve")


@pytest.mark.parametrize("text", ["", "k1", "k1:short", "bad id:0123456789abcdefgh"])
def test_bad_key_configuration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="link keys"):
        LinkKeys.parse(text)


def test_dev_keys_are_created_once_by_the_signer_and_shared(tmp_path: Path) -> None:
    assert verifying_keys("", tmp_path) is None  # intake alone never creates one
    first, second = dev_keys(tmp_path), dev_keys(tmp_path)
    assert first == second == verifying_keys("", tmp_path)
    assert len(first.signing[1]) >= 16


def test_reply_keys_compare_numbers_by_digits_and_mail_ids_are_keyed() -> None:
    assert phone_digits("+46 70-000 00 02") == "46700000002"
    assert sms_reply_key("+46700000002", "7F3A") == sms_reply_key("+46 700 000 002", "7f3a")
    rid = mail_reply_id(b"secret-one-0123456789", "page-1")
    assert len(rid) == 32
    assert rid != mail_reply_id(b"secret-two-0123456789", "page-1")


# --- provider signatures -------------------------------------------------------------------


def test_webhook_signatures_carry_one_v1_per_secret() -> None:
    body = b'{"event": 1}'
    header = sig.webhook_signature([b"new-secret", b"old-secret"], body)
    assert header.count("v1=") == 2
    assert sig.verify_webhook([b"old-secret"], header, body)
    assert not sig.verify_webhook([b"other"], header, body)
    assert not sig.verify_webhook([b"new-secret"], None, body)
    assert not sig.verify_webhook([], header, body)


def test_twilio_signature_matches_a_known_vector() -> None:
    # The voice-request vector of twilio-ruby's own request validator spec.
    token = "2bd9e9638872de601313dc77410d3b23"
    url = "http://twiliotests.heroku.com/validate/voice"
    params = {
        "ToState": "California", "CalledState": "California", "Direction": "inbound",
        "FromState": "CA", "AccountSid": "ACba8bc05eacf94afdae398e642c9cc32d",
        "Caller": "+14153595711", "CallerZip": "94108", "CallerCountry": "US",
        "From": "+14153595711", "FromCity": "SAN FRANCISCO", "CallerCity": "SAN FRANCISCO",
        "To": "+14157669926", "FromZip": "94108", "FromCountry": "US", "ToCity": "",
        "CallStatus": "ringing", "CalledCity": "", "CallerState": "CA", "CalledZip": "",
        "ToZip": "", "ToCountry": "US", "CallSid": "CA136d09cd59a3c0ec8dbff44da5c03f31",
        "CalledCountry": "US", "Called": "+14157669926", "ApiVersion": "2010-04-01",
        "ApplicationSid": "AP44efecad51364e80b133bb7c07eb8204",
    }  # fmt: skip
    pairs = list(params.items())
    assert sig.twilio_signature(token, url, pairs) == "oVb2kXoVy8GEfwBDjR8bk/ZZ6eA="
    assert sig.verify_twilio(token, url, pairs, "oVb2kXoVy8GEfwBDjR8bk/ZZ6eA=")
    assert not sig.verify_twilio(
        token, url, [*pairs, ("Body", "x")], "oVb2kXoVy8GEfwBDjR8bk/ZZ6eA="
    )
    assert not sig.verify_twilio("", url, pairs, "oVb2kXoVy8GEfwBDjR8bk/ZZ6eA=")


def test_slack_signatures_must_be_fresh() -> None:
    now = time.time()
    stamp = str(int(now))
    header = sig.slack_signature("secret", stamp, b"payload=1")
    assert header.startswith("v0=")
    assert sig.verify_slack("secret", stamp, b"payload=1", header, now)
    assert not sig.verify_slack("secret", stamp, b"payload=2", header, now)
    assert not sig.verify_slack("secret", stamp, b"payload=1", header, now + 301)
    assert not sig.verify_slack("secret", "not-a-time", b"payload=1", header, now)


def test_mail_signatures_must_be_fresh() -> None:
    now = time.time()
    stamp = str(int(now))
    good = sig.mail_signature("key", stamp, "tok")
    assert sig.verify_mail("key", stamp, "tok", good, now)
    assert not sig.verify_mail("key", stamp, "tok2", good, now)
    assert not sig.verify_mail("key", stamp, "tok", good, now + 3600)


@given(st.binary(max_size=200), st.binary(min_size=1, max_size=40))
def test_a_webhook_verifies_only_its_own_body(body: bytes, extra: bytes) -> None:
    header = sig.webhook_signature([b"s1"], body)
    assert sig.verify_webhook([b"s1"], header, body)
    assert not sig.verify_webhook([b"s1"], header, body + extra)
