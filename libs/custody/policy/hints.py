"""Turn a pydantic validation error into one line an operator can act on.

Pydantic says "Extra inputs are not permitted"; an operator needs "unknown field
'quiet_hour' (did you mean quiet_hours?)". The field names and descriptions come from the
models themselves, found by walking the error's location down from Policy.
"""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from custody.policy.fields import did_you_mean
from custody.policy.references import Loc


def explain_error(err: ErrorDetails) -> tuple[Loc, str]:
    # Validator and union tags (e.g. 'function-after[...]') are pydantic's, not the file's.
    loc: Loc = tuple(p for p in err["loc"] if isinstance(p, int) or "[" not in p)
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "missing":
        return loc, _missing(loc)
    if kind == "extra_forbidden":
        return loc, _unknown_field(loc)
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        hint = did_you_mean(str(value), expected) if isinstance(value, str) else ""
        return loc, f"{value!r} is not one of: {', '.join(expected)}{hint}"
    if kind == "string_type" and isinstance(value, bool | int | float):
        return loc, f"expected text, but YAML read {_yaml_form(value)}: quote it"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return loc, f"expected a mapping (key: value), got {_describe(value)}"
    if kind == "too_short":
        least, actual = ctx.get("min_length", 1), ctx.get("actual_length", 0)
        if actual == 0:
            return loc, f"is empty: needs at least {least}"
        return loc, f"has {actual} item(s): needs at least {least}"
    if kind in ("tuple_type", "list_type"):
        return loc, f"expected a list, e.g. [a, b], got {_describe(value)}"
    return loc, err["msg"].removeprefix("Value error, ")


def _missing(loc: Loc) -> str:
    field = str(loc[-1]) if loc else "(policy)"
    model = _model_at(loc[:-1])
    info = model.model_fields.get(field) if model is not None else None
    description = f" ({info.description})" if info is not None and info.description else ""
    return f"required field {field!r} is missing{description}"


def _unknown_field(loc: Loc) -> str:
    field = str(loc[-1]) if loc else ""
    model = _model_at(loc[:-1])
    known = sorted(model.model_fields) if model is not None else []
    hint = did_you_mean(field, known)
    if not hint and known:
        hint = f" (expected one of: {', '.join(known)})"
    return f"unknown field {field!r}{hint}"


def _yaml_form(value: object) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()} (unquoted yes/no/on/off are booleans)"
    return f"the number {value}"


def _describe(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model class found at `loc` below Policy, or None (a dict key, a list item...)."""
    from custody.policy.model import Policy

    current: Any = Policy
    for part in loc:
        current = _step(_unwrap(current), part)
        if current is None:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _step(annotation: Any, part: str | int) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return field.annotation if field is not None else None
    args = get_args(annotation)
    if get_origin(annotation) is dict and len(args) == 2:
        return args[1]
    if get_origin(annotation) in (tuple, list) and args:
        return args[0]
    return None


def _unwrap(annotation: Any) -> Any:
    """`X` from `Annotated[X, ...]` and from `X | None`."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            options = [a for a in get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation
