"""Telemetry setup shared by every service: structlog JSON lines and one OTel tracer provider."""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import structlog
from faststream import BaseMiddleware
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

_provider: TracerProvider | None = None
TRACE_FILE_DELAY_MS = 200  # how stale the dev trace file may be


class JsonLinesSpanExporter(SpanExporter):
    """Appends one JSON object per finished span; the dev and test exporter."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = []
        for span in spans:
            ctx = span.get_span_context()
            if ctx is None:
                continue
            lines.append(
                orjson.dumps(
                    {
                        "name": span.name,
                        "trace_id": format(ctx.trace_id, "032x"),
                        "span_id": format(ctx.span_id, "016x"),
                        "parent_id": format(span.parent.span_id, "016x") if span.parent else None,
                        "service": span.resource.attributes.get("service.name"),
                        "start_ns": span.start_time,
                        "end_ns": span.end_time,
                        "attributes": dict(span.attributes or {}),
                    },
                    default=str,
                    option=orjson.OPT_APPEND_NEWLINE,
                )
            )
        with self._lock, self._path.open("ab") as out:
            out.write(b"".join(lines))
        return SpanExportResult.SUCCESS


def setup(service: str, log_level: str = "info", trace_file: Path | None = None) -> None:
    """Configure logs and traces for one process. Call once from the service entry point."""
    global _provider
    level = getattr(logging, log_level.upper(), logging.INFO)
    logging.basicConfig(stream=sys.stderr, level=level, format="%(message)s")
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer()
        if sys.stderr.isatty()
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _add_trace_ids,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    _provider = TracerProvider(resource=Resource.create({"service.name": f"custody-{service}"}))
    if trace_file is not None:
        # Batched off the event loop: a file append per span cost each hop ~5% of its CPU.
        _provider.add_span_processor(
            BatchSpanProcessor(
                JsonLinesSpanExporter(trace_file), schedule_delay_millis=TRACE_FILE_DELAY_MS
            )
        )
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        # The exporter reads the endpoint (and headers) from the standard OTEL_* variables.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(_provider)


def tracer_provider() -> TracerProvider | None:
    return _provider


def _add_trace_ids(
    _logger: object, _method: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    span = trace.get_current_span()
    ctx = span.get_span_context()
    if ctx.is_valid:
        event.setdefault("trace_id", format(ctx.trace_id, "032x"))
        event.setdefault("span_id", format(ctx.span_id, "016x"))
    return event


_ESCALATION = re.compile(r"esc-[0-9a-f]{12}")


def escalation_fields(body: bytes, subject: str = "") -> dict[str, str | int]:
    """escalation_id, severity and level of a message, for span attributes and log context."""
    fields: dict[str, str | int] = {}
    try:
        data = orjson.loads(body) if body[:1] == b"{" else {}
    except orjson.JSONDecodeError:
        data = {}
    if isinstance(data, dict):
        esc = data.get("escalation_id")
        severity = data.get("severity") or (data.get("event") or {}).get("severity")
        level = data.get("level")
        if isinstance(esc, str) and esc:
            fields["escalation_id"] = esc
        if isinstance(severity, str):
            fields["severity"] = severity
        if isinstance(level, int):
            fields["level"] = level
    if "escalation_id" not in fields and (match := _ESCALATION.search(subject)):
        fields["escalation_id"] = match.group(0)
    return fields


class EscalationContextMiddleware(BaseMiddleware):
    """Inside the telemetry middleware's consumer span: tag the span with the escalation, and
    bind escalation_id to every log line emitted while the message is handled."""

    async def consume_scope(self, call_next: Callable[[Any], Awaitable[Any]], msg: Any) -> Any:
        raw = getattr(msg, "raw_message", None)
        subject = (
            getattr(raw, "subject", "") if raw is not None and not isinstance(raw, list) else ""
        )
        body = msg.body if isinstance(msg.body, bytes) else b""
        fields = escalation_fields(body, subject)
        span = trace.get_current_span()
        for key, value in fields.items():
            span.set_attribute(f"custody.{key}", value)
        esc = fields.get("escalation_id")
        if esc is None:
            return await call_next(msg)
        with structlog.contextvars.bound_contextvars(escalation_id=esc):
            return await call_next(msg)
