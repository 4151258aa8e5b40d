"""Readiness follows the service's own durables; /metrics parses and carries domain metrics."""

from __future__ import annotations

import httpx
import nats
from prometheus_client.parser import text_string_to_metric_families

from custody import observability, subjects
from custody.bus.provisioning import consumer_config, provision_jetstream
from custody.runtime.nats_server import NatsServer


async def test_readiness_turns_unready_when_a_durable_is_deleted(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        await provision_jetstream(js)
        probe = observability.durables_probe(js, "router", lambda: nc.is_connected)
        app = observability.health_app("router", probe)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://health"
        ) as http:
            assert (await http.get("/readyz")).status_code == 200
            await js.delete_consumer(subjects.ROUTER_INCIDENTS.stream, "router")
            unready = await http.get("/readyz")
            assert unready.status_code == 503
            assert "router is missing" in unready.json()["reason"]
            await js.add_consumer(
                subjects.ROUTER_INCIDENTS.stream, consumer_config(subjects.ROUTER_INCIDENTS)
            )
            assert (await http.get("/readyz")).status_code == 200
            assert (await http.get("/healthz")).status_code == 200
    finally:
        await nc.close()


async def test_metrics_parse_and_name_the_domain_metrics() -> None:
    observability.PAGES.labels(channel="sms", outcome="page_sent").inc()
    observability.set_policy_version("p-test")
    app = observability.health_app("notifier", lambda: _ready())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://health"
    ) as http:
        text = (await http.get("/metrics")).text
    names = {family.name for family in text_string_to_metric_families(text)}
    for wanted in (
        "custody_pages",
        "custody_pages_in_doubt",
        "custody_time_to_ack_seconds",
        "custody_escalation_transitions",
        "custody_ledger_lag_seconds",
        "custody_dlq_depth",
        "custody_consumer_pending",
        "custody_consumer_ack_pending",
        "custody_policy_version_info",
    ):
        assert wanted in names, wanted


async def _ready() -> str:
    return ""
