"""The policy's JSON Schema, for editor autocompletion (`custody policy schema`).

policy.schema.json beside this module is the committed copy that example.yaml points editors
at (yaml-language-server); a unit test fails when it is stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from custody.policy.model import Policy

SCHEMA_PATH = Path(__file__).parent / "policy.schema.json"


def policy_json_schema() -> dict[str, Any]:
    schema = Policy.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Custody policy"
    schema["description"] = "One YAML file: people, teams, chains, routes, severity classes."
    return schema


def render_schema() -> str:
    return json.dumps(policy_json_schema(), indent=2, ensure_ascii=False) + "\n"
