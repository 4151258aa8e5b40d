"""Notifier crash (acceptance 3): 20 trials of kill -9 of a real notifier process while it is
sending to a slow SMS provider. Each (escalation, level, recipient, channel) unit gets at most
one provider call, except units recorded as in_doubt, which the closing line counts.

The provider records each call on arrival, before it answers, so a call made by a process
killed while waiting for the answer is counted. The test runs its own nats-server with a short
ack_wait on the notifier's durable, and a short claim lease, so a crashed send is judged in
doubt within seconds rather than the production 45 s."""

import asyncio
import json
import random
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.js.api import ConsumerConfig

from custody import subjects
from custody.bus.provisioning import consumer_config
from custody.runtime.nats_server import NatsServer
from tests.fakes.http_sinks import SMS_SID, SMS_TOKEN, Sinks, http_sinks
from tests.fakes.notifier import (
    LINK_KEYS,
    Bus,
    bus_for,
    escalation,
    eventually,
    new_page,
    notifier_process,
)

TRIALS = 20
PAGES_PER_TRIAL = 6
RECIPIENTS = ("bob", "carol", "dave", "alice")
OUTCOMES = ("sent", "in_doubt", "failed", "skipped")


@pytest.fixture(scope="module")
def own_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path_factory.mktemp("nats-crash"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sinks() -> Iterator[Sinks]:
    with http_sinks() as running:
        running.sms.delay_s = 0.4  # slow answers: kills land mid-send
        yield running


@pytest.fixture
async def bus(own_nats: NatsServer) -> AsyncIterator[Bus]:
    async with bus_for(own_nats.url) as running:
        # A crashed consumer's messages come back after ack_wait: seconds, not 30 s, here.
        config: ConsumerConfig = consumer_config(subjects.NOTIFIER_PAGES)
        config.ack_wait = 2.0
        await running.js.add_consumer(subjects.PAGES, config)
        yield running


def env(url: str, data_dir: Path, sinks: Sinks) -> dict[str, str]:
    return {
        "NATS_URL": url,
        "CUSTODY_DATA_DIR": str(data_dir),
        "CUSTODY_SINK_DIR": str(data_dir / "sink"),
        "CUSTODY_SMS_BASE_URL": sinks.url,
        "CUSTODY_SMS_ACCOUNT_SID": SMS_SID,
        "CUSTODY_SMS_AUTH_TOKEN": SMS_TOKEN,
        "CUSTODY_SMS_FROM": "+15550000000",
        "CUSTODY_SMS_WINDOW_S": "0",
        "CUSTODY_LINK_KEYS": LINK_KEYS,
        "CUSTODY_SEND_TIMEOUT_S": "1.5",
        "CUSTODY_CLAIM_LEASE_S": "3",
        "CUSTODY_SCHEDULER_PERIOD_S": "3600",
        "CUSTODY_LOG_LEVEL": "warning",
    }


async def pulling(bus: Bus) -> bool:
    info = await bus.js.consumer_info(subjects.PAGES, subjects.NOTIFIER_PAGES.durable)
    return bool(info.num_waiting)


async def outcomes(bus: Bus) -> dict[str, str]:
    """escalation id -> its final outcome, from the PAGES stream."""
    info = await bus.js.stream_info(subjects.PAGES, subjects_filter="pages.*.*")
    found: dict[str, str] = {}
    for subject in info.state.subjects or {}:
        _, outcome, esc = subject.split(".", 2)
        if outcome in OUTCOMES:
            found[esc] = outcome if found.get(esc) in (None, "sent") else found[esc]
    return found


async def test_kill_9_mid_send_never_pages_a_unit_twice(
    bus: Bus, own_nats: NatsServer, tmp_path: Path, sinks: Sinks
) -> None:
    rng = random.Random(20261122)
    settings_env = env(own_nats.url, tmp_path, sinks)
    pages = []
    proc = notifier_process(settings_env, tmp_path / "notifier.log")
    kills = 0
    try:
        for trial in range(TRIALS):
            await eventually(lambda: pulling(bus), "the notifier pulling", within=30)
            for n in range(PAGES_PER_TRIAL):
                esc = escalation()
                recipient = RECIPIENTS[(trial + n) % len(RECIPIENTS)]
                await bus.offered(esc, recipient=recipient)
                page = new_page(esc, recipient=recipient)
                pages.append(page)
                await bus.request(page)
            await asyncio.sleep(rng.uniform(0.2, 1.2))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            kills += 1
            proc = notifier_process(settings_env, tmp_path / "notifier.log")
        done = await eventually(
            lambda: _all_settled(bus, {p.escalation_id for p in pages}),
            "every page settled",
            within=120,
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    calls: dict[str, int] = {}
    for call in sinks.sms.calls:
        calls[call.key] = calls.get(call.key, 0) + 1
    units = {p.page_id: p.escalation_id for p in pages}
    assert set(calls) <= set(units), f"calls for units never requested: {set(calls) - set(units)}"
    twice = {k: n for k, n in calls.items() if n > 1}
    assert twice == {}, f"units called more than once: {twice}"
    in_doubt = [k for k, e in units.items() if done[e] == "in_doubt"]
    sent = [k for k, e in units.items() if done[e] == "sent"]
    assert all(calls.get(k) == 1 for k in sent), "a unit announced sent without its one call"
    called_in_doubt = sum(1 for k in in_doubt if calls.get(k))
    print(
        f"\n[crash] {kills} kill -9 during sends, {len(units)} units: {len(sent)} sent once, "
        f"{len(in_doubt)} in_doubt ({called_in_doubt} of them reached the provider, "
        f"{len(in_doubt) - called_in_doubt} did not), 0 units called twice"
    )
    (tmp_path / "crash-figures.json").write_text(
        json.dumps(
            {"kills": kills, "units": len(units), "sent": len(sent), "in_doubt": len(in_doubt)}
        )
    )
    assert len(sent) + len(in_doubt) == len(units)
    sinks.sms.claim_all(lambda c: c.key in units)
    sinks.assert_nothing_more(settle_s=0)


async def _all_settled(bus: Bus, escs: set[str]) -> dict[str, str] | None:
    found = await outcomes(bus)
    return found if escs <= set(found) else None
