"""Acceptance 6's benchmark (`python -m custody_ledger.bench`) runs, and counts what it wrote.
The figure itself is measured by hand on a quiet machine: see the ledger section of README."""

import pytest

from custody.runtime.postgres import PostgresServer
from custody_ledger.bench import bench, facts

pytestmark = pytest.mark.timeout(120)


def test_the_benchmark_facts_are_distinct_and_realistic() -> None:
    made = facts(13)
    assert len({f.msg_id for f in made}) == 13
    assert [f.kind for f in made[:6]] == [
        "raised", "routed", "offered", "page_requested", "page_sent", "acknowledged",
    ]  # fmt: skip


async def test_the_writer_benchmark_runs_against_real_postgres(
    postgres_server: PostgresServer,
) -> None:
    result = await bench(postgres_server.url, 600, 200, 1)
    assert result["facts"] == 600
    assert result["median_facts_per_s"] > 0
