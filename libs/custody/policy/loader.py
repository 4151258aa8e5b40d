"""Load and version the policy file; errors name the file, the line and the field."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from custody.policy.model import Policy


class PolicyError(ValueError):
    """One line per problem: `file:line: field.path: what is wrong`."""


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that remembers the line of every mapping key."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        mapping[key] = loader.construct_object(value_node, deep=True)
        lines[str(key)] = key_node.start_mark.line + 1
    mapping["__lines__"] = lines
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strip(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _strip(v) for k, v in data.items() if k not in ("__lines__", "__line__")}
    if isinstance(data, list):
        return [_strip(v) for v in data]
    return data


def _line_of(data: Any, loc: tuple[int | str, ...]) -> int:
    line = data.get("__line__", 1) if isinstance(data, dict) else 1
    node = data
    for part in loc:
        if isinstance(node, dict):
            line = node.get("__lines__", {}).get(str(part), line)
            node = node.get(part) if part in node else None
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            if isinstance(node, dict):
                line = node.get("__line__", line)
        else:
            break
    return int(line)


def load_policy_text(text: str, filename: str = "policy.yaml") -> Policy:
    try:
        raw = yaml.load(text, Loader=_LineLoader)  # SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise PolicyError(f"{filename}:{line}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise PolicyError(f"{filename}:1: the policy must be a mapping")
    try:
        return Policy.model_validate(_strip(raw))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not str(p).startswith("function-"))
            path = ".".join(str(p) for p in loc) or "(policy)"
            message = err["msg"].removeprefix("Value error, ")
            problems.append(f"{filename}:{_line_of(raw, loc)}: {path}: {message}")
        raise PolicyError("\n".join(problems)) from exc


def load_policy(path: Path) -> Policy:
    return load_policy_text(path.read_text(encoding="utf-8"), str(path))


def policy_version(policy: Policy) -> str:
    """Content-addressed: the same document always has the same version."""
    canonical = json.dumps(policy.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return "p-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]
