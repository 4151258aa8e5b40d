"""Which channel to try when one fails for good: the next one in the page's plan.

The plan is the severity class's first channels, then its promotion channels, then the
class's fallback list (the policy may set one; by default chat, email, webhook, sms). A
fallback skips the class's first channels, because the escalator pages those in parallel at
every level, and channels the recipient has no contact for.

A fallback page is the unit (escalation, level, recipient, channel, attempt) of the failed
page with another channel, named exactly as the escalator names its pages. So when the
escalator later promotes to that same channel, both share one claim: one page, not two.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

DEFAULT_FALLBACK = ("chat", "email", "webhook", "sms")
PAGING_CHANNELS = frozenset(DEFAULT_FALLBACK)


def plan(
    channels: Sequence[str], promote_to: Sequence[str], fallback: Sequence[str] | None
) -> tuple[str, ...]:
    """The class's channels in the order a page may go out on them, each once."""
    extra = DEFAULT_FALLBACK if fallback is None else fallback
    ordered = (c for c in (*channels, *promote_to, *extra) if c in PAGING_CHANNELS)
    return tuple(dict.fromkeys(ordered))


def next_channel(
    order: Sequence[str],
    failed: str,
    first: Iterable[str],
    contacts: Mapping[str, str | None],
) -> str | None:
    """The channel after `failed` in `order` that the recipient can be reached on, skipping
    the class's first channels (already paged); None when the plan is exhausted."""
    skip = set(first) | {failed}
    start = order.index(failed) + 1 if failed in order else 0
    for channel in order[start:]:
        if channel not in skip and contacts.get(channel):
            return channel
    return None


def fallback_page_id(
    escalation_id: str, level: int, recipient: str, channel: str, attempt: int
) -> str:
    """The escalator's page id format (custody_escalator Page.page_id): keep them equal."""
    return f"{escalation_id}.l{level}.{recipient}.{channel}.a{attempt}"
