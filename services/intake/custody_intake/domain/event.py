"""The native event: validated strictly (no coercion: `"true"` is not a boolean), then its text
checked: one line for names, titles and labels, prose elsewhere, never a control character."""

from __future__ import annotations

from pydantic import ValidationError

from custody.contracts import IncidentEvent
from custody_intake.domain.rejection import Refused, Rejection, from_validation_errors, refuse
from custody_intake.domain.text import first_bad_text

ONE_LINE_FIELDS = frozenset({"source", "dedup_key", "title", "service"})


def read_event(raw: bytes) -> IncidentEvent:
    """`raw` has passed `parse_object` (size, depth, UTF-8, numbers, characters)."""
    try:
        event = IncidentEvent.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise Refused(from_validation_errors(exc.errors())) from None
    check_text(event)
    return event


def _one_line(path: str) -> bool:
    return path in ONE_LINE_FIELDS or path.startswith("labels.")


def _structured(path: str) -> bool:
    """`proof.details` is data kept as JSON, never shown as text: any string may go there."""
    return path == "proof.details" or path.startswith("proof.details.")


def check_text(event: IncidentEvent) -> None:
    bad = first_bad_text(event.model_dump(mode="json"), _one_line, _structured)
    if bad is not None:
        path, code, why = bad
        raise Refused(Rejection(422, code, path, f"{path}: {why}"))


def check_source(event: IncidentEvent, principal: str, kind: str) -> None:
    """An agent raises in its own name only: dedup and heartbeats are keyed by source, so a
    token for one agent must not open or update another's escalations."""
    if kind == "agent" and event.source != principal:
        raise refuse(
            403,
            "source_mismatch",
            "source",
            f"source {event.source!r} is not the agent this token belongs to ({principal})",
        )


Renames = tuple[tuple[str, str], ...]


def rename(path: str, renames: Renames) -> str:
    """A native field path in the sender's terms: the longest matching prefix wins."""
    for native, foreign in sorted(renames, key=lambda r: -len(r[0])):
        if path == native or path.startswith(native + "."):
            return foreign + path[len(native) :]
    return path


def build_event(data: dict[str, object], renames: Renames) -> IncidentEvent:
    """A native event mapped from another format; a refusal names the sender's own field."""
    try:
        event = IncidentEvent.model_validate(data)
        check_text(event)
    except ValidationError as exc:
        raise _renamed(from_validation_errors(exc.errors()), renames) from None
    except Refused as refused:
        raise _renamed(refused.rejection, renames) from None
    return event


def _renamed(native: Rejection, renames: Renames) -> Refused:
    field = rename(native.field, renames)
    message = native.message.replace(native.field, field, 1)
    return Refused(Rejection(native.status, native.error_code, field, message))


def check_model_text(
    dump: dict[str, object], one_line: frozenset[str], skip: frozenset[str] = frozenset()
) -> None:
    """The same rules over another format's validated body; `one_line` and `skip` hold path
    patterns where `*` stands for one path segment (an index or a map key)."""
    bad = first_bad_text(dump, lambda p: _matches(p, one_line), lambda p: _matches(p, skip, True))
    if bad is not None:
        path, code, why = bad
        raise Refused(Rejection(422, code, path, f"{path}: {why}"))


def _matches(path: str, patterns: frozenset[str], prefix: bool = False) -> bool:
    parts = path.split(".")
    for pattern in patterns:
        want = pattern.split(".")
        if len(parts) < len(want) or (len(parts) > len(want) and not prefix):
            continue
        if all(w in ("*", p) for w, p in zip(want, parts, strict=False)):
            return True
    return False
