"""FastStream's Prometheus middleware, with a destination label of bounded cardinality.

FastStream labels every message metric with the raw NATS subject. Custody's subjects carry
the escalation id (`custody.accepted.esc-…`), so each escalation would add its own label set
to five metrics: memory that only grows, and a `labels()` child built on every message.
Here the label is the subject's kind instead: `custody.accepted`, `pages.requested`, `routed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from faststream.nats.prometheus.provider import (
    BatchNatsMetricsSettingsProvider,
    NatsMetricsSettingsProvider,
)
from faststream.prometheus.middleware import PrometheusMiddleware
from nats.aio.msg import Msg

from custody import subjects

if TYPE_CHECKING:
    from faststream.prometheus import ConsumeAttrs
    from faststream.response import PublishCommand
    from prometheus_client import CollectorRegistry

# The first token of every stream's subjects: "custody", "pages", "routed", ...
_STREAM_HEADS = frozenset(p.split(".", 1)[0] for s in subjects.STREAMS for p in s.subjects)


def destination_label(subject: str) -> str:
    """The kind of a subject, never an id: at most its stream head and the token after it,
    when that token names a kind (three or more tokens). Anything else (inboxes, `$JS.API`,
    intake's core subjects) is labelled by its first token alone."""
    tokens = subject.split(".")
    head = tokens[0]
    if head in _STREAM_HEADS and len(tokens) > 2:
        return f"{head}.{tokens[1]}"
    return head


class _ByKind:
    """Both providers' overrides: the label is the subject's kind (destination_label)."""

    __slots__ = ()

    def get_consume_attrs_from_message(self, msg: Any) -> ConsumeAttrs:
        attrs: ConsumeAttrs = super().get_consume_attrs_from_message(msg)  # type: ignore[misc]
        attrs["destination_name"] = destination_label(attrs["destination_name"])
        return attrs

    def get_publish_destination_name_from_cmd(self, cmd: PublishCommand) -> str:
        return destination_label(cmd.destination)


class _Single(_ByKind, NatsMetricsSettingsProvider):
    __slots__ = ()


class _Batch(_ByKind, BatchNatsMetricsSettingsProvider):
    __slots__ = ()


def _provider(msg: Msg | Sequence[Msg] | None) -> _Single | _Batch | None:
    if isinstance(msg, Sequence):
        return _Batch()
    if isinstance(msg, Msg) or msg is None:
        return _Single()
    return None  # KV and object-store watches


class CustodyPrometheusMiddleware(PrometheusMiddleware[Any, Any]):
    def __init__(self, *, registry: CollectorRegistry, app_name: str) -> None:
        super().__init__(settings_provider_factory=_provider, registry=registry, app_name=app_name)
