"""The shape of a refusal: a stable error code, the field, and a message a person can act on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rejection:
    status: int
    error_code: str
    field: str
    message: str

    def body(self) -> dict[str, Any]:
        return {"error_code": self.error_code, "field": self.field, "message": self.message}


def from_validation_errors(errors: list[dict[str, Any]]) -> Rejection:
    """The first pydantic error, named by its dotted field path (without the `body` prefix)."""
    first = errors[0] if errors else {"loc": (), "msg": "invalid body", "type": "invalid"}
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    field = ".".join(loc) or "(body)"
    kind = str(first.get("type", "invalid"))
    code = {
        "missing": "missing_field",
        "extra_forbidden": "unknown_field",
        "string_too_long": "too_long",
        "too_long": "too_many",
        "json_invalid": "invalid_json",
    }.get(kind, "invalid_field")
    return Rejection(422, code, field, f"{field}: {first.get('msg', 'invalid')}")
