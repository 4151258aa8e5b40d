"""PagerDuty Events API v2, mapped onto the native event: any tool that can page PagerDuty can
point at Custody instead. `trigger` raises or updates by `dedup_key`; `acknowledge` and
`resolve` act on that escalation as its source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from custody.contracts import IncidentEvent, Severity
from custody.contracts.facts import CommandAction
from custody.contracts.incident import ONE_LINE, PROSE
from custody_intake.domain.event import Renames, build_event, check_model_text
from custody_intake.domain.rejection import Refused, from_validation_errors, refuse

# PagerDuty has four severities; Custody's classes decide how loudly to page.
SEVERITY = {
    "critical": Severity.RED,
    "error": Severity.RED,
    "warning": Severity.YELLOW,
    "info": Severity.GREEN,
}
ACTIONS: dict[str, CommandAction] = {"acknowledge": "ack", "resolve": "resolve"}

_RENAMES: Renames = (
    ("title", "payload.summary"),
    ("service", "payload.component"),
    ("occurred_at", "payload.timestamp"),
    ("labels.pd_source", "payload.source"),
    ("labels.group", "payload.group"),
    ("labels.class", "payload.class"),
    ("proof.evidence", "links"),
)


class Link(BaseModel):
    model_config = ConfigDict(extra="forbid")

    href: str = Field(min_length=1, max_length=2048, json_schema_extra=PROSE)
    text: str | None = Field(default=None, max_length=200, json_schema_extra=PROSE)


class Image(BaseModel):
    model_config = ConfigDict(extra="forbid")

    src: str = Field(min_length=1, max_length=2048, json_schema_extra=PROSE)
    href: str | None = Field(default=None, max_length=2048, json_schema_extra=PROSE)
    alt: str | None = Field(default=None, max_length=200, json_schema_extra=PROSE)


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    summary: str = Field(min_length=1, max_length=200, json_schema_extra=ONE_LINE)
    source: str = Field(min_length=1, max_length=255, json_schema_extra=ONE_LINE)
    severity: Literal["critical", "error", "warning", "info"]
    timestamp: str | None = Field(
        default=None, max_length=64, json_schema_extra={"format": "date-time"}
    )
    component: str | None = Field(default=None, max_length=128, json_schema_extra=ONE_LINE)
    group: str | None = Field(default=None, max_length=255, json_schema_extra=ONE_LINE)
    class_: str | None = Field(
        default=None, max_length=255, alias="class", json_schema_extra=ONE_LINE
    )
    custom_details: Any = Field(default=None, description="kept as JSON in proof.details")


class _Common(BaseModel):
    model_config = ConfigDict(extra="forbid")

    routing_key: str = Field(min_length=1, max_length=512, description="an agent's token")
    # At most 20 pieces of evidence in all: links, images and the client link.
    images: list[Image] = Field(default_factory=list, max_length=9)
    links: list[Link] = Field(default_factory=list, max_length=10)
    client: str | None = Field(default=None, max_length=200, json_schema_extra=PROSE)
    client_url: str | None = Field(default=None, max_length=2048, json_schema_extra=PROSE)


class PagerDutyTrigger(_Common):
    event_action: Literal["trigger"]
    dedup_key: str | None = Field(
        default=None, min_length=1, max_length=255, json_schema_extra=ONE_LINE
    )
    payload: Payload


class PagerDutyAction(_Common):
    """Acknowledge or resolve: the key names the escalation; a payload is allowed, unused."""

    event_action: Literal["acknowledge", "resolve"]
    dedup_key: str = Field(min_length=1, max_length=255, json_schema_extra=ONE_LINE)
    payload: Payload | None = None


PagerDutyEvent = PagerDutyTrigger | PagerDutyAction


def schema(ref_template: str) -> dict[str, Any]:
    """Both models as one object schema: `if` it is a trigger, `then` it has a payload, `else`
    a dedup_key. (Not `oneOf`: schema-driven fuzzers misjudge a discriminated oneOf.)"""
    trigger = PagerDutyTrigger.model_json_schema(ref_template=ref_template, by_alias=True)
    action = PagerDutyAction.model_json_schema(ref_template=ref_template, by_alias=True)
    properties = dict(trigger["properties"])
    properties["event_action"] = {"enum": ["trigger", "acknowledge", "resolve"], "type": "string"}
    properties["payload"] = {
        "anyOf": [action["properties"]["payload"]["anyOf"][0], {"type": "null"}]
    }
    return {
        "title": "PagerDutyEvent",
        "type": "object",
        "properties": properties,
        "required": ["routing_key", "event_action"],
        "additionalProperties": False,
        "if": {"properties": {"event_action": {"const": "trigger"}}},
        "then": {
            "required": ["payload"],
            "properties": {"payload": trigger["properties"]["payload"]},
        },
        "else": {
            "required": ["dedup_key"],
            "properties": {"dedup_key": action["properties"]["dedup_key"]},
        },
        "$defs": {**trigger.get("$defs", {}), **action.get("$defs", {})},
    }


_ONE_LINE = frozenset(
    {"dedup_key", *(f"payload.{f}" for f in ("summary", "source", "component", "group", "class"))}
)
_SKIP = frozenset({"routing_key", "payload.custom_details"})  # a secret; data kept as JSON


@dataclass(frozen=True)
class SourceAction:
    """Acknowledge or resolve the escalation of (source, dedup_key), as its source."""

    action: CommandAction
    dedup_key: str


def read(raw: bytes, doc: dict[str, Any]) -> PagerDutyEvent:
    """`doc` is `raw` parsed: its `event_action` picks the model that validates `raw`."""
    action = doc.get("event_action")
    if action not in ("trigger", "acknowledge", "resolve"):
        code = "missing_field" if action is None else "invalid_choice"
        why = "event_action: trigger, acknowledge or resolve"
        raise refuse(422, code, "event_action", why)
    model: type[PagerDutyTrigger | PagerDutyAction] = (
        PagerDutyTrigger if action == "trigger" else PagerDutyAction
    )
    try:
        event = model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise Refused(from_validation_errors(exc.errors())) from None
    check_model_text(event.model_dump(mode="json", by_alias=True), _ONE_LINE, _SKIP)
    return event


def dedup_key_of(event: PagerDutyTrigger, digest: str) -> str:
    """PagerDuty invents a key when a trigger has none; ours is derived from the body, so the
    sender's retry of the same trigger still finds the same escalation."""
    return event.dedup_key or f"pd-{digest[:32]}"


def to_action(event: PagerDutyAction) -> SourceAction:
    return SourceAction(ACTIONS[event.event_action], event.dedup_key)


def to_incident(event: PagerDutyTrigger, source: str, digest: str) -> IncidentEvent:
    payload = event.payload
    labels = {"pd_source": payload.source}
    labels |= {k: v for k, v in (("group", payload.group), ("class", payload.class_)) if v}
    data: dict[str, Any] = {
        "source": source,
        "dedup_key": dedup_key_of(event, digest),
        "title": payload.summary,
        "severity": SEVERITY[payload.severity],
        "service": payload.component,
        "labels": labels,
        "occurred_at": _timestamp(payload.timestamp),
        "proof": {
            "signal": payload.summary,
            "evidence": _evidence(event),
            "details": _details(payload.custom_details),
        },
    }
    return build_event(data, _RENAMES)


def _timestamp(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.upper())  # RFC 3339 allows "t" and "z"
    except ValueError:
        raise refuse(
            422, "invalid_datetime", "payload.timestamp", "payload.timestamp: not ISO 8601"
        ) from None
    if moment.tzinfo is None:
        raise refuse(
            422, "naive_datetime", "payload.timestamp", "payload.timestamp: needs a time zone"
        )
    return moment


def _evidence(event: PagerDutyTrigger) -> list[dict[str, Any]]:
    evidence: list[dict[str, Any]] = [
        {"label": link.text or "link", "url": link.href} for link in event.links
    ]
    evidence += [
        {"label": image.alt or "image", "url": image.href or image.src} for image in event.images
    ]
    if event.client_url:
        evidence.append({"label": event.client or "client", "url": event.client_url})
    return evidence


def _details(custom: Any) -> dict[str, Any]:
    """PagerDuty's custom_details, whole: an object as it is, anything else under its name."""
    if custom is None:
        return {}
    return custom if isinstance(custom, dict) else {"custom_details": custom}
