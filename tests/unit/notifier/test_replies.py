"""Reading replies (intake's custody_intake.domain.replies): what counts as "ack 7f3a"."""

import pytest

from custody_intake.domain.replies import (
    Reply,
    chat_handle,
    confirmation_page,
    email_address,
    parse_reply,
    reply_id,
    twiml,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ack 7f3a", Reply("ack", "7f3a")),
        ("ACK 7F3A", Reply("ack", "7f3a")),
        ("  Ack  7f3a. thanks", Reply("ack", "7f3a")),
        ("resolve 7f3a", Reply("resolve", "7f3a")),
        ("r 7f3a", Reply("resolve", "7f3a")),
        ("ack", Reply("ack", None)),
        ("\n\nack\n> [CUSTODY:RED] quoted page", Reply("ack", None)),
        ("On Mon, Custody wrote:\n> ack", None),
        ("> ack 7f3a", None),
        ("please ack 7f3a", None),
        ("", None),
        ("stop", None),
    ],
)
def test_parse_reply(text: str, expected: Reply | None) -> None:
    assert parse_reply(text) == expected


def test_addresses_and_handles_compare_normalised() -> None:
    assert email_address("Bob <Bob@Example.TEST>") == "bob@example.test"
    assert (
        reply_id("reply+0123456789ABCDEF0123456789abcdef@reply.test")
        == "0123456789abcdef0123456789abcdef"
    )
    assert reply_id("bob@example.test") is None
    assert reply_id("reply+short@reply.test") is None
    assert chat_handle("@Bob") == chat_handle("bob") == "bob"


def test_the_confirmation_page_only_posts_and_escapes_everything() -> None:
    page = confirmation_page("ack", "esc-<script>", "bob", "2026-11-22 03:00 UTC")
    assert '<form method="post">' in page
    assert "<script>" not in page
    assert 'name="robots" content="noindex"' in page


def test_twiml_escapes_the_message() -> None:
    assert "<Message>a &lt;b&gt; &amp; c</Message>" in twiml("a <b> & c")
