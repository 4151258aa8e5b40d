"""The typed event builder, and durations as people write them ("30s", "5m")."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Self

from custody.client.transports import CustodyError
from custody.contracts import IncidentEvent
from custody.contracts.incident import Evidence, Threshold


class Event:
    """A typed builder for the native event; `build()` validates it before anything is sent."""

    def __init__(self, source: str, title: str, severity: str) -> None:
        self._fields: dict[str, Any] = {"source": source, "title": title, "severity": severity}
        self._labels: dict[str, str] = {}
        self._proof: dict[str, Any] = {}
        self._evidence: list[Evidence] = []
        self._thresholds: list[Threshold] = []

    def dedup_key(self, key: str) -> Self:
        return self._set(self._fields, dedup_key=key)

    def service(self, name: str) -> Self:
        return self._set(self._fields, service=name)

    def customer_impact(self, impacted: bool = True) -> Self:
        return self._set(self._fields, customer_impact=impacted)

    def occurred_at(self, moment: datetime) -> Self:
        return self._set(self._fields, occurred_at=moment)

    def label(self, key: str, value: str) -> Self:
        self._labels[key] = value
        return self

    def signal(self, what: str) -> Self:
        return self._set(self._proof, signal=what)

    def evidence(self, label: str, url: str | None = None, excerpt: str | None = None) -> Self:
        self._evidence.append(Evidence(label=label, url=url, excerpt=excerpt))
        return self

    def diagnosis(self, text: str) -> Self:
        return self._set(self._proof, diagnosis=text)

    def threshold(self, *fired: Threshold | str) -> Self:
        self._thresholds += [Threshold(t) for t in fired]
        return self

    def proposed_action(self, action: str, reversible: bool | None = None) -> Self:
        return self._set(self._proof, proposed_action=action, reversible=reversible)

    def agent_action(self, what: str) -> Self:
        return self._set(self._proof, agent_action=what)

    def runbook(self, url: str) -> Self:
        return self._set(self._proof, runbook_url=url)

    def build(self) -> IncidentEvent:
        """The event; without a dedup key, a fresh one (fixed from here on, for retries)."""
        proof = {**self._proof, "evidence": self._evidence, "thresholds": self._thresholds}
        fields = {"dedup_key": uuid.uuid4().hex, **self._fields}
        return IncidentEvent.model_validate({**fields, "labels": self._labels, "proof": proof})

    def _set(self, target: dict[str, Any], **values: Any) -> Self:
        target.update(values)
        return self


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def seconds(value: str | float) -> float:
    """A duration such as 30, "30s", "5m", "1h" or "1d", in seconds."""
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(value)
    if match is None:
        raise CustodyError(0, "invalid_interval", "interval", f'{value!r}: use e.g. "30s", "5m"')
    return float(match.group(1)) * _UNIT_S[match.group(2) or "s"]
