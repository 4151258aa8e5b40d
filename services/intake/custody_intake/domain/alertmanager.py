"""The Alertmanager webhook (payload version 4): a firing alert raises or updates, a resolved
alert resolves, as its source. Each alert is deduplicated on its group key plus fingerprint."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
)

from custody.contracts import IncidentEvent, Severity
from custody.contracts.incident import (
    MAX_LABELS,
    ONE_LINE,
    PROSE,
    LabelKey,
    LabelValue,
    one_line_names,
)
from custody_intake.domain.event import Renames, build_event, check_model_text
from custody_intake.domain.rejection import Refused, from_validation_errors

MAX_ALERTS = 100  # Alertmanager's `max_alerts` should be set at or below this

# The usual Prometheus conventions; anything else pages as YELLOW rather than not at all.
SEVERITY = {
    "critical": Severity.RED,
    "page": Severity.RED,
    "error": Severity.RED,
    "high": Severity.RED,
    "warning": Severity.YELLOW,
    "medium": Severity.YELLOW,
    "info": Severity.GREEN,
    "low": Severity.GREEN,
    "none": Severity.GREEN,
}


def _labels_schema(schema: dict[str, Any]) -> None:
    """One-line names and values; the labels that become the title and service say so."""
    one_line_names(schema)
    schema["properties"] = {
        "alertname": {"type": "string", "maxLength": 200, **ONE_LINE},
        "service": {"type": "string", "maxLength": 128, **ONE_LINE},
    }


def _annotations_schema(schema: dict[str, Any]) -> None:
    """Prose values, except `summary`, which becomes the title; each within its native limit."""
    schema["propertyNames"] = dict(ONE_LINE)
    schema["additionalProperties"] = {"type": "string", **PROSE}
    schema["properties"] = {
        "summary": {"type": "string", "maxLength": 200, **ONE_LINE},
        "description": {"type": "string", "maxLength": 2000, **PROSE},
        "runbook_url": {"type": "string", "maxLength": 2048, **PROSE},
        "runbook": {"type": "string", "maxLength": 2048, **PROSE},
    }


def _whole(value: float) -> float:
    if not value.is_integer():
        raise ValueError("must be a whole number")
    return value


# JSON Schema's "integer" admits 1.0; strict pydantic's int would refuse it, so a count is a
# number that must be whole (and never a string or a boolean).
Count = Annotated[
    float,
    AfterValidator(_whole),
    Field(ge=0),
    WithJsonSchema({"type": "integer", "minimum": 0}),
]


class Alert(BaseModel):
    # Alertmanager has added fields to version 4 without bumping it: unknown ones are ignored.
    # Field names keep Alertmanager's camelCase, so the published schema is its format.
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[LabelKey, LabelValue] = Field(
        min_length=1, max_length=MAX_LABELS, json_schema_extra=_labels_schema
    )
    annotations: dict[str, str] = Field(
        default_factory=dict, max_length=MAX_LABELS, json_schema_extra=_annotations_schema
    )
    startsAt: AwareDatetime | None = None
    endsAt: AwareDatetime | None = None
    generatorURL: str = Field(default="", max_length=2048, json_schema_extra=PROSE)
    fingerprint: str = Field(default="", max_length=64, json_schema_extra=ONE_LINE)


class AlertmanagerWebhook(BaseModel):
    """The request body of `POST /v1/integrations/alertmanager`."""

    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    groupKey: str = Field(min_length=1, max_length=4096, json_schema_extra=PROSE)
    truncatedAlerts: Count = 0
    status: Literal["firing", "resolved"]
    receiver: str = Field(default="", max_length=255, json_schema_extra=PROSE)
    groupLabels: dict[str, str] = Field(default_factory=dict, json_schema_extra=one_line_names)
    commonLabels: dict[str, str] = Field(default_factory=dict, json_schema_extra=one_line_names)
    commonAnnotations: dict[str, str] = Field(
        default_factory=dict, json_schema_extra=_annotations_schema
    )
    externalURL: str = Field(default="", max_length=2048, json_schema_extra=PROSE)
    alerts: list[Alert] = Field(min_length=1, max_length=MAX_ALERTS)


_ONE_LINE = frozenset(
    {
        "alerts.*.labels.*",
        "alerts.*.annotations.summary",
        "alerts.*.fingerprint",
        "groupLabels.*",
        "commonLabels.*",
        "commonAnnotations.summary",
    }
)


@dataclass(frozen=True)
class Firing:
    index: int
    event: IncidentEvent


@dataclass(frozen=True)
class Resolved:
    index: int
    dedup_key: str


def read(raw: bytes) -> AlertmanagerWebhook:
    try:
        hook = AlertmanagerWebhook.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise Refused(from_validation_errors(exc.errors())) from None
    check_model_text(hook.model_dump(mode="json"), _ONE_LINE)
    return hook


def dedup_key(group_key: str, alert: Alert) -> str:
    """`am:<group>:<fingerprint>`; the group key can be kilobytes, so it is hashed. An alert
    without a fingerprint (Alertmanager before 0.19) is fingerprinted by its labels."""
    group = hashlib.sha256(group_key.encode()).hexdigest()[:16]
    fingerprint = (
        alert.fingerprint
        or hashlib.sha256(
            "\x00".join(f"{k}={v}" for k, v in sorted(alert.labels.items())).encode()
        ).hexdigest()[:16]
    )
    return f"am:{group}:{fingerprint}"


def to_actions(hook: AlertmanagerWebhook, source: str) -> list[Firing | Resolved]:
    """Every alert mapped first, so one bad alert refuses the whole delivery and nothing of
    it is half-applied; Alertmanager then keeps it for the operator to see."""
    actions: list[Firing | Resolved] = []
    for index, alert in enumerate(hook.alerts):
        key = dedup_key(hook.groupKey, alert)
        if alert.status == "resolved":
            actions.append(Resolved(index, key))
        else:
            actions.append(Firing(index, _incident(hook, index, alert, source, key)))
    return actions


def _incident(
    hook: AlertmanagerWebhook, index: int, alert: Alert, source: str, key: str
) -> IncidentEvent:
    notes = {**hook.commonAnnotations, **alert.annotations}
    name = alert.labels.get("alertname") or "alert"  # an empty label is no name either
    title_from = "annotations.summary" if notes.get("summary") else "labels.alertname"
    at = f"alerts.{index}"
    renames: Renames = (
        ("title", f"{at}.{title_from}"),
        ("proof.signal", f"{at}.{title_from}"),
        ("labels", f"{at}.labels"),
        ("service", f"{at}.labels.service"),
        ("occurred_at", f"{at}.startsAt"),
        ("proof.diagnosis", f"{at}.annotations.description"),
        ("proof.runbook_url", f"{at}.annotations.runbook_url"),
        ("proof.evidence", f"{at}.generatorURL"),
    )
    evidence: list[dict[str, Any]] = []
    if alert.generatorURL:
        evidence.append({"label": "alert expression", "url": alert.generatorURL})
    data: dict[str, Any] = {
        "source": source,
        "dedup_key": key,
        "title": notes.get("summary") or name,
        "severity": SEVERITY.get(alert.labels.get("severity", "").lower(), Severity.YELLOW),
        "service": alert.labels.get("service"),
        "labels": alert.labels,
        "occurred_at": alert.startsAt,
        "proof": {
            "signal": notes.get("summary", name),
            "diagnosis": notes.get("description", ""),
            "evidence": evidence,
            "runbook_url": notes.get("runbook_url") or notes.get("runbook") or None,
        },
    }
    return build_event(data, renames)
