"""Message metrics are labelled by the kind of subject, never by the escalation in it."""

from __future__ import annotations

import pytest
from faststream.nats import NatsBroker, TestNatsBroker
from prometheus_client import CollectorRegistry

from custody.bus.metrics import CustodyPrometheusMiddleware, destination_label


@pytest.mark.parametrize(
    ("subject", "label"),
    [
        ("custody.accepted.esc-0123456789ab", "custody.accepted"),
        ("pages.requested.esc-0123456789ab", "pages.requested"),
        ("timers.due.esc-0123456789ab.level", "timers.due"),
        ("routed.esc-0123456789ab", "routed"),
        ("commands.esc-0123456789ab", "commands"),
        ("incidents.accepted.esc-0123456789ab", "incidents.accepted"),
        ("dlq.ROUTED.router", "dlq.ROUTED"),
        ("rejected.monitor-1", "rejected"),
        ("_INBOX_notifier.Xy7.3", "_INBOX_notifier"),
        ("$JS.API.CONSUMER.INFO.PAGES.notifier", "$JS.API"),
        ("intake.events.monitor-1", "intake"),
    ],
)
def test_destination_label_names_the_kind_not_the_id(subject: str, label: str) -> None:
    assert destination_label(subject) == label


def _label_sets(registry: CollectorRegistry) -> set[tuple[str, str]]:
    return {
        (sample.name, sample.labels.get("destination", ""))
        for family in registry.collect()
        for sample in family.samples
        if "destination" in sample.labels
    }


async def test_a_thousand_escalations_add_no_label_sets() -> None:
    registry = CollectorRegistry()
    broker = NatsBroker(middlewares=(CustodyPrometheusMiddleware(registry=registry, app_name="t"),))
    seen: list[str] = []

    @broker.subscriber("custody.accepted.*")
    async def handler(body: str) -> None:
        seen.append(body)

    async with TestNatsBroker(broker) as test:
        await test.publish("a", "custody.accepted.esc-000000000000")
        before = _label_sets(registry)
        for i in range(1, 1000):
            await test.publish("a", f"custody.accepted.esc-{i:012x}")
    assert len(seen) == 1000
    assert {label for _, label in before} == {"custody.accepted"}
    assert _label_sets(registry) == before
