"""One way to build a FastStream NATS broker, with reconnect settings that never give up."""

from __future__ import annotations

from faststream.nats import NatsBroker
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.security import SASLPlaintext

from custody.bus.metrics import CustodyPrometheusMiddleware
from custody.observability import REGISTRY
from custody.settings import CommonSettings
from custody.telemetry import EscalationContextMiddleware, tracer_provider


def make_broker(settings: CommonSettings, service: str) -> NatsBroker:
    """nats-py's defaults give up after ~2 min and notice a dead peer after ~4 min
    (notes/jetstream.md), which would silently stop a service during a broker restart."""
    return NatsBroker(
        settings.nats_url,
        name=f"custody-{service}",
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        ping_interval=10,
        connect_timeout=5,
        security=(
            SASLPlaintext(username=settings.nats_user, password=settings.nats_password or "")
            if settings.nats_user and settings.nats_nkey_seed_file is None
            else None
        ),
        nkeys_seed=str(settings.nats_nkey_seed_file) if settings.nats_nkey_seed_file else None,
        # Restricted users get their own inbox prefix. nats-py 2.16 appends ".<nuid>" itself,
        # so the prefix has no trailing dot here; the permission to grant is "_INBOX_<svc>.>".
        inbox_prefix=f"_INBOX_{service}".encode(),
        middlewares=(
            NatsTelemetryMiddleware(tracer_provider=tracer_provider()),
            CustodyPrometheusMiddleware(registry=REGISTRY, app_name=f"custody-{service}"),
            EscalationContextMiddleware,
        ),
        logger=None,
    )
