"""Provider throttling (acceptance 4): the SMS sink answers 429 with Retry-After for a while;
no call lands before Retry-After has passed, and afterwards every page is delivered, once.

The window is 3 s by default so CI stays fast; CUSTODY_FULL_THROTTLE=1 runs the 30 s of the
issue. The figures are printed (run with -s to see them)."""

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from custody.runtime.nats_server import NatsServer
from tests.fakes.http_sinks import Sinks, http_sinks
from tests.fakes.notifier import (
    Bus,
    bus_for,
    escalation,
    eventually,
    new_page,
    real_settings,
    running_notifier,
)

WINDOW_S = 30.0 if os.environ.get("CUSTODY_FULL_THROTTLE") == "1" else 3.0
PAGES = 10


@pytest.fixture
def sinks() -> Iterator[Sinks]:
    with http_sinks() as running:
        yield running


@pytest.fixture
async def bus(nats_server: NatsServer) -> AsyncIterator[Bus]:
    async with bus_for(nats_server.url) as running:
        yield running


async def test_no_call_before_retry_after_and_everything_delivered_after(
    bus: Bus, nats_server: NatsServer, tmp_path: Path, sinks: Sinks
) -> None:
    escs = [escalation() for _ in range(PAGES)]
    for esc in escs:
        await bus.offered(esc)
    sinks.sms.cue(429, for_s=WINDOW_S, retry_after=f"{WINDOW_S:g}")
    async with running_notifier(real_settings(nats_server.url, tmp_path, sinks, None)):
        await bus.request(new_page(escs[0]))
        (throttled,) = await sinks.sms.arrive(lambda c: c.status == 429)
        for esc in escs[1:]:  # the provider has said "wait": these must wait too
            await bus.request(new_page(esc))
        for esc in escs:
            await eventually(
                lambda e=esc: bus.stored("sent", e), f"{esc} sent", within=WINDOW_S + 20
            )
        delivered = await sinks.sms.arrive(lambda c: c.status == 201, count=PAGES)
        await sinks.nothing_more()
    early = [c for c in sinks.sms.calls if throttled.at < c.at < throttled.at + WINDOW_S]
    assert early == [], f"{len(early)} call(s) landed inside Retry-After"
    assert sorted(c.key for c in delivered) == sorted(new_page(e).page_id for e in escs)
    first = min(c.at for c in delivered) - throttled.at
    last = max(c.at for c in delivered) - throttled.at
    print(
        f"\n[throttle] Retry-After {WINDOW_S:g}s: 1 call answered 429, 0 calls inside the window, "
        f"{PAGES} delivered from +{first:.2f}s to +{last:.2f}s after the 429"
    )
    assert first >= WINDOW_S
    for esc in escs:
        assert await bus.stored("in_doubt", esc) == 0
        assert await bus.stored("failed", esc) == 0
