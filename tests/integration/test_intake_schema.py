"""schemathesis against the served OpenAPI spec (acceptance 2), and the published event schema.

The real intake app is served by uvicorn with a real nats-server behind it, and the
schemathesis CLI runs its default checks against every operation of `/openapi.json`: no 5xx,
only documented status codes and bodies, schema-valid input accepted, schema-invalid refused,
unauthenticated calls refused, `Allow` on 405.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from custody.contracts import IncidentEvent
from custody.runtime.nats_server import NatsServer
from tests.integration.intake_harness import served_intake

EXAMPLES_PER_OPERATION = 50
SCHEMATHESIS = shutil.which("schemathesis", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(SCHEMATHESIS is None, reason="schemathesis is not installed (dev pin)")
def test_schemathesis_passes_against_the_served_openapi(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    assert SCHEMATHESIS is not None
    with served_intake(nats_server.url, command_wait_s=0.2) as served:
        env = {
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.integration.intake_schemathesis_hooks",
            "CUSTODY_TEST_AGENT_TOKEN": served.agent_token,
            "PYTHONPATH": str(Path(__file__).parents[2]),
        }
        started = time.monotonic()
        run = subprocess.run(
            [
                SCHEMATHESIS,
                "run",
                f"{served.url}/openapi.json",
                "--header",
                f"Authorization: Bearer {served.person_token}",
                "--max-examples",
                str(EXAMPLES_PER_OPERATION),
                "--workers",
                "1",
                "--report-dir",
                str(tmp_path / "report"),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=False,
        )
    summary = run.stdout[run.stdout.rfind("SUMMARY") :]
    print(f"\n[schemathesis] {time.monotonic() - started:.1f}s\n{summary}")
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-3000:]


def test_the_event_schema_is_published_and_is_the_contract(nats_server: NatsServer) -> None:
    with served_intake(nats_server.url) as served:
        schema = httpx.get(f"{served.url}/v1/schemas/incident-event.json").json()
        spec = httpx.get(f"{served.url}/openapi.json").json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"] == IncidentEvent.model_json_schema()["properties"]
    assert schema["properties"]["title"]["maxLength"] == 200
    assert schema["properties"]["dedup_key"]["maxLength"] == 255
    assert "64 KiB" in schema["description"]
    body = spec["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/IncidentEvent"}
    served = json.dumps(spec["components"]["schemas"]["IncidentEvent"]["properties"])
    assert served.replace("#/components/schemas/", "#/$defs/") == json.dumps(schema["properties"])
