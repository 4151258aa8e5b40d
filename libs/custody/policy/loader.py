"""Load and version the policy file. Every problem names the file, the line and the field path,
and says what to do: `policy.yaml:41: people.bob.timezone: 'Europe/Stokholm' is not an IANA
zone (did you mean Europe/Stockholm?)`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from custody.policy.hints import explain_error
from custody.policy.model import Policy
from custody.policy.references import REFERENCE_PROBLEMS, Loc, render

LineMap = dict[tuple[str, ...], int]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}"


class PolicyError(ValueError):
    """One line per problem, sorted by line: `file:line: field.path: what is wrong`."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line, p.path))
        super().__init__("\n".join(str(p) for p in self.problems))


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads an unquoted 22:00 as the base-60 integer 1320; a policy means a time."""


def _clock_or_number(loader: _Loader, node: yaml.ScalarNode) -> Any:
    if ":" in str(node.value):
        return str(node.value)
    if node.tag.endswith(":int"):
        return loader.construct_yaml_int(node)
    return loader.construct_yaml_float(node)


_Loader.add_constructor("tag:yaml.org,2002:int", _clock_or_number)
_Loader.add_constructor("tag:yaml.org,2002:float", _clock_or_number)


def _walk(node: yaml.Node, path: tuple[str, ...], lines: LineMap, dups: list[Problem]) -> None:
    """Record the line of every key and list item, and every key given twice."""
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in first:
                message = f"duplicate key {key!r} (first at line {first[key]}; YAML keeps the last)"
                dups.append(Problem("", line, render((*path, key)), message))
            first.setdefault(key, line)
            lines[(*path, key)] = line
            _walk(value_node, (*path, key), lines, dups)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, str(index))] = item.start_mark.line + 1
            _walk(item, (*path, str(index)), lines, dups)


def _parse(text: str, filename: str) -> tuple[Any, LineMap]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        what = getattr(exc, "problem", None) or str(exc)
        raise PolicyError([Problem(filename, line, "(yaml)", f"not valid YAML: {what}")]) from exc
    finally:
        loader.dispose()
    lines: LineMap = {(): 1}
    dups: list[Problem] = []
    if node is not None:
        _walk(node, (), lines, dups)
    if dups:
        raise PolicyError([Problem(filename, d.line, d.path, d.message) for d in dups])
    return data, lines


def line_of(lines: LineMap, loc: Loc) -> int:
    """The line of the deepest part of `loc` the file has (a missing field: its parent's)."""
    parts = tuple(str(p) for p in loc)
    for size in range(len(parts), -1, -1):
        if parts[:size] in lines:
            return lines[parts[:size]]
    return 1


def _own_errors(exc: ValidationError) -> list[ErrorDetails]:
    """Pydantic also reports a list as too short when one of its items fails (it counts only
    the valid ones); the item's own error is the one to show."""
    errors = exc.errors()
    failed = [tuple(e["loc"]) for e in errors]

    def shadowed(err: ErrorDetails) -> bool:
        loc = tuple(err["loc"])
        return err["type"] == "too_short" and any(f[: len(loc)] == loc and f != loc for f in failed)

    return [err for err in errors if not shadowed(err)]


def load_policy_text(text: str, filename: str = "policy.yaml") -> Policy:
    data, lines = _parse(text, filename)
    if not isinstance(data, dict):
        what = "empty" if data is None else f"a {type(data).__name__}"
        message = f"the policy is {what}: it must be a mapping of people, teams, chains, routes"
        raise PolicyError([Problem(filename, 1, "(policy)", message)])
    collected: list[tuple[Loc, str]] = []
    try:
        policy = Policy.model_validate(data, context={REFERENCE_PROBLEMS: collected})
    except ValidationError as exc:
        found = [explain_error(err) for err in _own_errors(exc)]
        raise PolicyError(
            [Problem(filename, line_of(lines, loc), render(loc), msg) for loc, msg in found]
        ) from exc
    if collected:
        raise PolicyError(
            [Problem(filename, line_of(lines, loc), render(loc), msg) for loc, msg in collected]
        )
    return policy


def load_policy(path: Path) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError([Problem(str(path), 0, "(file)", exc.strerror or str(exc))]) from exc
    return load_policy_text(text, str(path))


def policy_document(policy: Policy) -> dict[str, Any]:
    """The policy as JSON, as stored in KV and recorded in the ledger."""
    document: dict[str, Any] = policy.model_dump(mode="json")
    return document


def policy_version(policy: Policy) -> str:
    """Content-addressed: the same document always has the same version."""
    canonical = json.dumps(policy_document(policy), sort_keys=True, separators=(",", ":"))
    return "p-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]
