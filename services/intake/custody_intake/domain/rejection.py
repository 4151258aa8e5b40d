"""The shape of a refusal: a stable error code, the field, and a message a person can act on."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from custody_intake.domain.text import printable

BODY = "(body)"  # the field named when the whole body is at fault


@dataclass(frozen=True)
class Rejection:
    status: int
    error_code: str
    field: str
    message: str

    def __post_init__(self) -> None:
        # A path or message may quote the very character being refused (a lone surrogate
        # cannot even be encoded as UTF-8), so what we echo back is made printable here.
        object.__setattr__(self, "field", printable(self.field, 300))
        object.__setattr__(self, "message", printable(self.message, 1000))

    def body(self) -> dict[str, Any]:
        return {"error_code": self.error_code, "field": self.field, "message": self.message}


class Refused(Exception):
    """Raised by any rule that refuses an input; the edge records it and answers with it."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.message)
        self.rejection = rejection


def refuse(status: int, error_code: str, field: str, message: str) -> Refused:
    return Refused(Rejection(status, error_code, field, message))


# pydantic's error types, mapped to the codes callers may rely on (CONTRACT.md: stable codes).
_CODES = {
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "string_too_long": "too_long",
    "string_too_short": "too_short",
    "too_long": "too_many",
    "too_short": "too_few",
    "enum": "invalid_choice",
    "literal_error": "invalid_choice",
    "timezone_aware": "naive_datetime",
    "datetime_type": "invalid_datetime",
    "datetime_parsing": "invalid_datetime",
    "datetime_from_date_parsing": "invalid_datetime",
    "json_invalid": "invalid_json",
    "string_pattern_mismatch": "invalid_format",
    "finite_number": "non_finite_number",
    "greater_than_equal": "out_of_range",
    "less_than_equal": "out_of_range",
    "greater_than": "out_of_range",
    "less_than": "out_of_range",
}


def field_path(loc: Sequence[Any], prefix: str = "") -> str:
    """`("proof", "evidence", 0, "url")` -> `proof.evidence.0.url`; a dict key's own error
    (`[key]`) names the key itself."""
    parts = [str(p) for p in loc if p not in ("body", "path", "query", "header", "[key]")]
    path = ".".join(parts)
    if prefix:
        path = f"{prefix}.{path}" if path else prefix
    return path or BODY


def from_validation_errors(
    errors: Sequence[Any], prefix: str = "", names: dict[str, str] | None = None
) -> Rejection:
    """The first pydantic error, named by its dotted field path. `names` renames a path for
    formats mapped onto the native event (PagerDuty's `payload.summary` is our `title`)."""
    first = errors[0] if errors else {"loc": (), "msg": "invalid body", "type": "invalid"}
    field = field_path(first.get("loc", ()), prefix)
    field = (names or {}).get(field, field)
    kind = str(first.get("type", "invalid"))
    if kind.endswith("_type") and kind != "datetime_type":
        code = "wrong_type"
    else:
        code = _CODES.get(kind, "invalid_field")
    return Rejection(422, code, field, f"{field}: {first.get('msg', 'invalid')}")


_SECRET = re.compile(r'("routing_key"\s*:\s*")[^"]*')


def redact(head: str) -> str:
    """A refused body is kept, but the token a PagerDuty sender puts in it is not."""
    return _SECRET.sub(r"\1[redacted]", head)
