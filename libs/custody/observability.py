"""Health, readiness and Prometheus metrics, shared by every service.

Metric names live here so dashboards and tests agree; each service updates the ones it owns.
Readiness is live: the NATS connection AND the service's own durable consumers, because a
deleted durable makes a pull loop spin silently (notes/jetstream.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from nats.js.errors import NotFoundError
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from custody import subjects

REGISTRY = CollectorRegistry(auto_describe=True)

CONSUMER_PENDING = Gauge(
    "custody_consumer_pending",
    "Messages not yet delivered, per durable",
    ["durable"],
    registry=REGISTRY,
)
CONSUMER_ACK_PENDING = Gauge(
    "custody_consumer_ack_pending",
    "Messages delivered but not acked, per durable",
    ["durable"],
    registry=REGISTRY,
)
DLQ_DEPTH = Gauge("custody_dlq_depth", "Messages in the DLQ stream", registry=REGISTRY)
POLICY_VERSION = Gauge(
    "custody_policy_version_info",
    "The policy version in use (value 1)",
    ["version"],
    registry=REGISTRY,
)
PAGES = Counter(
    "custody_pages_total", "Page outcomes by channel", ["channel", "outcome"], registry=REGISTRY
)
IN_DOUBT = Counter(
    "custody_pages_in_doubt_total",
    "Sends whose outcome was unknown after a crash",
    registry=REGISTRY,
)
TIME_TO_ACK = Histogram(
    "custody_time_to_ack_seconds",
    "From opened to acknowledged",
    ["severity"],
    buckets=(5, 15, 30, 60, 120, 300, 600, 1800, 3600, 14400),
    registry=REGISTRY,
)
ESCALATIONS = Counter(
    "custody_escalation_transitions_total",
    "Transitions into each state",
    ["state"],
    registry=REGISTRY,
)
MESSAGES = Counter(
    "custody_messages_total",
    "Messages handled by a service's pull consumers, by durable and how each was settled",
    ["durable", "outcome"],
    registry=REGISTRY,
)
MESSAGE_SECONDS = Histogram(
    "custody_message_handling_seconds",
    "Time to handle one message, from fetch to settle, per durable",
    ["durable"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15),
    registry=REGISTRY,
)
LEDGER_LAG = Gauge(
    "custody_ledger_lag_seconds", "Age of the oldest fact not yet recorded", registry=REGISTRY
)

Probe = Callable[[], Awaitable[str]]  # "" when ready, else why not


def set_policy_version(version: str) -> None:
    POLICY_VERSION.clear()
    POLICY_VERSION.labels(version=version).set(1)


def durables_probe(js: Any, service: str, connected: Callable[[], bool]) -> Probe:
    """Ready when connected and every durable this service consumes exists."""

    async def probe() -> str:
        if not connected():
            return "not connected to NATS"
        for spec in subjects.SERVICE_CONSUMERS.get(service, ()):
            try:
                await asyncio.wait_for(js.consumer_info(spec.stream, spec.durable), 2.0)
            except NotFoundError:
                return f"durable consumer {spec.durable} is missing: run `custody provision`"
            except TimeoutError:
                return "NATS did not answer consumer_info in 2 s"
        return ""

    return probe


async def poll_consumers(js: Any, service: str, every_s: float = 5.0) -> None:
    """Keep the pending gauges of this service's durables, and the DLQ depth, current."""
    while True:
        for spec in subjects.SERVICE_CONSUMERS.get(service, ()):
            try:
                info = await js.consumer_info(spec.stream, spec.durable)
            except Exception:  # readiness reports it; metrics just keep the last value
                continue
            CONSUMER_PENDING.labels(durable=spec.durable).set(info.num_pending or 0)
            CONSUMER_ACK_PENDING.labels(durable=spec.durable).set(info.num_ack_pending or 0)
        with contextlib.suppress(Exception):
            DLQ_DEPTH.set((await js.stream_info(subjects.DLQ)).state.messages)
        await asyncio.sleep(every_s)


def metrics_response() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def add_routes(app: FastAPI, probe: Probe) -> None:
    """/healthz (alive), /readyz (probe) and /metrics, unless the app defines them already."""
    paths = {getattr(route, "path", None) for route in app.router.routes}

    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    async def readyz() -> JSONResponse:
        problem = await probe()
        body = {"ready": not problem, "reason": problem}
        return JSONResponse(body, status_code=503 if problem else 200)

    async def metrics() -> Response:
        return metrics_response()

    for path, endpoint in (("/healthz", healthz), ("/readyz", readyz), ("/metrics", metrics)):
        if path not in paths:
            app.add_api_route(path, endpoint, methods=["GET"], include_in_schema=False)


def health_app(service: str, probe: Probe) -> FastAPI:
    app = FastAPI(title=f"custody {service} health", docs_url=None, redoc_url=None)
    add_routes(app, probe)
    return app
