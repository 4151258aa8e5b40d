"""Schemathesis hooks for the intake run (loaded through SCHEMATHESIS_HOOKS).

A PagerDuty body carries its token in `routing_key`, which no schema can make valid. A
schema-valid key is swapped for the agent's real one, so valid cases get past authentication;
an invalid key (wrong type, empty, too long) is left alone and must still be refused.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis


@schemathesis.hook
def map_body(context: schemathesis.HookContext, body: Any) -> Any:
    operation = context.operation
    if operation is None or operation.path != "/v2/enqueue" or not isinstance(body, dict):
        return body
    key = body.get("routing_key")
    if isinstance(key, str) and 1 <= len(key) <= 512:
        return {**body, "routing_key": os.environ["CUSTODY_TEST_AGENT_TOKEN"]}
    return body
