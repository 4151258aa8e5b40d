"""A page that fails for good falls back to the next channel of its plan."""

import pytest

from custody_notifier.domain.fallback import fallback_page_id, next_channel, plan

ALL = {"sms": "+4670", "email": "b@x", "chat": "@b", "webhook": "https://h"}
RED = plan(("sms",), (), None)
YELLOW = plan(("email", "chat"), ("sms",), None)


def test_plans_put_the_class_first_then_promotion_then_the_fallback_list() -> None:
    assert RED == ("sms", "chat", "email", "webhook")
    assert YELLOW == ("email", "chat", "sms", "webhook")
    assert plan(("sms",), (), ("email",)) == ("sms", "email")
    assert plan(("digest",), (), None) == ("chat", "email", "webhook", "sms")


@pytest.mark.parametrize(
    ("order", "failed", "first", "contacts", "expected"),
    [
        (RED, "sms", ("sms",), ALL, "chat"),
        (RED, "chat", ("sms",), ALL, "email"),  # a fallback that failed falls back again
        (RED, "webhook", ("sms",), ALL, None),  # the plan is exhausted
        (RED, "sms", ("sms",), {"sms": "+4670", "email": "b@x"}, "email"),  # no chat contact
        # YELLOW pages email and chat together: email's fallback skips chat (already paged)
        (YELLOW, "email", ("email", "chat"), ALL, "sms"),
        (YELLOW, "chat", ("email", "chat"), ALL, "sms"),
        (YELLOW, "sms", ("email", "chat"), ALL, "webhook"),
        (RED, "sms", ("sms",), {"webhook": "https://canary"}, "webhook"),  # the canary's path
    ],
)
def test_the_next_channel(
    order: tuple[str, ...],
    failed: str,
    first: tuple[str, ...],
    contacts: dict[str, str],
    expected: str | None,
) -> None:
    assert next_channel(order, failed, first, contacts) == expected


def test_a_fallback_page_is_named_like_the_escalators_page_of_that_unit() -> None:
    # custody_escalator.domain.decisions.Page.page_id: a promotion to the same channel shares it.
    assert fallback_page_id("esc-1", 2, "bob", "chat", 3) == "esc-1.l2.bob.chat.a3"
