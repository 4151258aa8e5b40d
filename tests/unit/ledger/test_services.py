"""Which service each fact kind comes from, and the hop latencies of `custody trace`."""

import pytest

from custody_ledger.domain.services import Hop, hops, service_for
from tests.unit.ledger.factories import at


@pytest.mark.parametrize(
    ("kind", "service"),
    [
        ("raised", "intake"),
        ("seen_again", "intake"),
        ("command", "intake"),
        ("rejected", "intake"),
        ("routed", "router"),
        ("offered", "escalator"),
        ("acknowledged", "escalator"),
        ("resolved", "escalator"),
        ("page_requested", "escalator"),
        ("command_outcome", "escalator"),
        ("page_sent", "notifier"),
        ("page_failed", "notifier"),
        ("page_in_doubt", "notifier"),
        ("page_skipped", "notifier"),
        ("undecodable", "ledger"),
    ],
)
def test_service_for_kind(kind: str, service: str) -> None:
    assert service_for(kind) == service


def test_hops_are_in_time_order_with_latency_since_the_previous_one() -> None:
    result = hops([Hop("page_sent", at(0.25)), Hop("raised", at(0)), Hop("routed", at(0.1))])
    assert [(h["service"], h["kind"], h["latency_ms"]) for h in result] == [
        ("intake", "raised", 0.0),
        ("router", "routed", 100.0),
        ("notifier", "page_sent", 150.0),
    ]
    assert result[0]["at"] == at(0).isoformat()
