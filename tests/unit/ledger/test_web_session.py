"""Signed session cookies: tamper-evident, purpose-bound, expiring."""

from __future__ import annotations

import stat
from pathlib import Path

from custody_ledger.web.auth import safe_next
from custody_ledger.web.session import Signer, load_or_create_key


def signer(key: bytes = b"k" * 32) -> Signer:
    return Signer(lambda: key)


def test_a_session_round_trips_until_it_expires() -> None:
    value = signer().session("bob", "cst_bob_x", expires=100.0)
    session = signer().read_session(value, now=99.0)
    assert session is not None
    assert (session.name, session.token) == ("bob", "cst_bob_x")
    assert signer().read_session(value, now=100.0) is None


def test_an_edited_cookie_is_rejected() -> None:
    value = signer().session("bob", "t", expires=100.0)
    body, mac = value.rsplit(".", 1)
    forged = signer().dumps({"n": "dave", "t": "t", "x": 100.0}, "session").split(".")[0]
    assert signer().read_session(f"{forged}.{mac}", now=0) is None
    assert signer().read_session(f"{body}x.{mac}", now=0) is None
    assert signer(b"other").read_session(value, now=0) is None


def test_a_flash_value_never_passes_as_a_session() -> None:
    flash = signer().dumps({"n": "dave", "t": "t", "x": 1e12}, "flash")
    assert signer().read_session(flash, now=0) is None


def test_garbage_is_no_session() -> None:
    for value in (None, "", "nodot", "!!!.abc", "e30.deadbeef"):
        assert signer().read_session(value, now=0) is None


def test_the_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    path = tmp_path / "web-session.key"
    first = load_or_create_key(path)
    assert load_or_create_key(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path, "configured") == b"configured"


def test_next_is_only_ever_a_path_on_this_site() -> None:
    assert safe_next("/e/esc-1") == "/e/esc-1"
    for bad in (None, "", "https://evil.example/", "//evil.example", "/\\evil", "e/esc-1"):
        assert safe_next(bad) == "/"
