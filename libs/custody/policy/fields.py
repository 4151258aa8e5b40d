"""Field types of the policy file (durations, wall times, weekdays, zones) and their hints.

Each type accepts what an operator naturally writes in YAML and, when it cannot, says what
to write instead. The JSON Schema of each type describes the YAML form, not the parsed one,
so an editor does not flag `wait: 5m` as "not a number".
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from datetime import datetime, time
from functools import lru_cache
from typing import Annotated, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, WithJsonSchema

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_WALL_TIME = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?\s*$")
Channel = Literal["sms", "email", "chat", "webhook", "digest"]
ClassName = Literal["red", "yellow", "green"]
ExceptionClass = Literal["data_missing", "cross_team_dependency", "legal_hold"]
CLASS_NAMES: tuple[str, ...] = get_args(ClassName)
EXCEPTION_CLASSES: tuple[str, ...] = get_args(ExceptionClass)
ROLES = ("primary", "secondary", "manager")  # chain targets resolved in a team
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class PolicyModel(BaseModel):
    """Every policy section: immutable, and an unknown key is an error (a typo, usually)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def did_you_mean(value: str, options: Iterable[str]) -> str:
    """' (did you mean X?)' for the closest option, or '' when nothing is close."""
    choices = sorted(set(options))
    lowered = {choice.lower(): choice for choice in choices}
    if value.lower() in lowered and lowered[value.lower()] != value:
        return f" (did you mean {lowered[value.lower()]}?)"
    close = difflib.get_close_matches(value, choices, n=3, cutoff=0.6)
    if not close:
        return ""
    # Ties ('munday': monday or sunday?) go to the longest common prefix: typos are rarer
    # at the start of a word.
    best = max(close, key=lambda c: (_ratio(value, c), _prefix(value, c)))
    return f" (did you mean {best}?)"


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def _prefix(a: str, b: str) -> int:
    size = 0
    while size < min(len(a), len(b)) and a[size] == b[size]:
        size += 1
    return size


def parse_duration(value: object) -> float:
    """'500ms', '90s', '15m', '4h', '1d' or a number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _UNIT_S[match.group(2)]
    raise ValueError(f"{value!r} is not a duration (use e.g. 30s, 15m, 4h, 1d)")


def parse_wall_time(value: object) -> time:
    """'07:00' or '07:00:30' (a time of day on the local wall clock)."""
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        match = _WALL_TIME.match(value)
        if match:
            return time(int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))
    raise ValueError(f"{value!r} is not a time of day (use HH:MM, e.g. 07:00)")


def parse_weekday(value: object) -> int:
    """A weekday name ('monday') or its number, Monday being 0."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return value
    if isinstance(value, str) and value.strip().lower() in WEEKDAYS:
        return WEEKDAYS.index(value.strip().lower())
    hint = did_you_mean(value, WEEKDAYS) if isinstance(value, str) else ""
    raise ValueError(f"{value!r} is not a weekday{hint} (use monday … sunday, or 0 … 6)")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_zone(value: str) -> str:
    """An IANA zone name, e.g. Europe/Stockholm; a near miss names the closest real zone."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{value!r} is not an IANA zone{did_you_mean(value, _zones())}") from exc
    return value


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)?\s*$"},
            ],
            "description": "a duration: seconds, or e.g. 30s, 15m, 4h, 1d",
        }
    ),
]
WallTime = Annotated[
    time,
    BeforeValidator(parse_wall_time),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?$",
            "description": "a local time of day, HH:MM",
        }
    ),
]
Weekday = Annotated[
    int,
    BeforeValidator(parse_weekday),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": 6},
                {"enum": list(WEEKDAYS)},
            ],
            "description": "a weekday: monday … sunday, or 0 (Monday) … 6",
        }
    ),
]
Zone = Annotated[
    str,
    AfterValidator(check_zone),
    WithJsonSchema({"type": "string", "description": "an IANA zone, e.g. Europe/Stockholm"}),
]
# A wall time in the owner's zone (no offset) or an instant (with one).
LocalDateTime = Annotated[
    datetime,
    WithJsonSchema(
        {
            "type": "string",
            "description": "ISO 8601, e.g. 2026-12-24T09:00; without an offset it is local "
            "to the owner's zone (see custody.policy.wallclock for DST gaps and overlaps)",
        }
    ),
]
