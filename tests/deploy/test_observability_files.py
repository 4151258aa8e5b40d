"""The dashboard only charts metrics the services really export."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from custody import observability

DASHBOARD = Path(__file__).parents[2] / "deploy" / "observability" / "grafana-dashboard.json"


def test_every_custody_metric_in_the_dashboard_is_exported() -> None:
    exported = {
        family.name
        for family in text_string_to_metric_families(observability.metrics_response().body.decode())
    }
    exprs = [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"custody_[a-z_]+", e)}
    base = {re.sub(r"_(total|bucket|count|sum)$", "", m) for m in used}
    assert base, "the dashboard charts no custody metric"
    assert base <= exported, sorted(base - exported)
