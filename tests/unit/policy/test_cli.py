"""`custody policy ...` without a running system: validate, diff --against, explain --policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custody.cli.main import main
from custody.provisioning import EXAMPLE_POLICY

BROKEN = Path(__file__).parent / "broken"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as ended:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(ended.value.code or 0), out, err


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy", "validate", str(EXAMPLE_POLICY), "--json")
    assert code == 0
    assert json.loads(out)["ok"] is True


def test_validate_prints_one_line_per_problem_and_exits_non_zero(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = (BROKEN / "05_route_to_missing_chain.yaml").read_text()
    path = tmp_path / "p.yaml"
    path.write_text(source.replace("team: ops,", "team: opps,"))
    code, out, err = run(capsys, "policy", "validate", str(path))
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        f"{path}:13: routes[0].team: unknown team 'opps' (did you mean ops?)",
        f"{path}:14: routes[0].chain: unknown chain 'defualt' (did you mean default?)",
    ]
    code, out, _ = run(capsys, "policy", "validate", str(path), "--json")
    assert code == 1
    problems = json.loads(out)["problems"]
    assert [(p["line"], p["path"]) for p in problems] == [
        (13, "routes[0].team"),
        (14, "routes[0].chain"),
    ]


def test_apply_refuses_a_broken_file_before_touching_anything(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "policy", "apply", str(BROKEN / "29_single_person.yaml"))
    assert code == 1
    assert "at least two people are needed" in err


def test_diff_against_another_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    other = tmp_path / "p.yaml"
    other.write_text(EXAMPLE_POLICY.read_text().replace("wait: 10m", "wait: 20m"))
    code, out, _ = run(capsys, "policy", "diff", str(other), "--against", str(EXAMPLE_POLICY))
    assert code == 0
    assert out.splitlines()[1:] == ["~ chains.payments-default.levels[2].wait: 600.0 → 1200.0"]
    code, out, _ = run(
        capsys, "policy", "diff", str(other), "--against", str(EXAMPLE_POLICY), "--json"
    )
    changes = json.loads(out)["changes"]
    assert changes == [
        {"op": "~", "path": "chains.payments-default.levels[2].wait", "old": 600.0, "new": 1200.0}
    ]


def test_explain_is_the_full_decision_at_an_instant(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    event = tmp_path / "e.json"
    event.write_text(
        json.dumps({"source": "monitor-1", "dedup_key": "k", "title": "t", "severity": "yellow"})
    )
    argv = ["policy", "explain", "--event", str(event), "--policy", str(EXAMPLE_POLICY)]
    code, out, _ = run(capsys, *argv, "--at", "2026-11-22T23:40:00+01:00", "--json")
    assert code == 0
    routed = json.loads(out)["routed"]
    assert routed["explanation"]["rule"] == "no-service"
    assert routed["deferred_until"] == "2026-11-23T06:00:00Z"
    assert routed["levels"][0]["recipients"] == ["bob"]
    code, out, _ = run(capsys, *argv, "--at", "2026-11-22T12:00:00Z")
    assert "decision  offer: YELLOW outside bob's quiet hours (22:00–07:00 local)" in out


def test_explain_needs_an_offset(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    event = tmp_path / "e.json"
    event.write_text("{}")
    argv = ["policy", "explain", "--event", str(event), "--policy", str(EXAMPLE_POLICY)]
    code, _, err = run(capsys, *argv, "--at", "2026-03-29T02:30")
    assert code == 2
    assert err.strip().startswith("custody: --at '2026-03-29T02:30': give a UTC offset or Z")
    code, _, err = run(capsys, *argv, "--at", "2026-03-29T02:30Z")
    assert code == 2
    assert err.startswith(f"custody: --event {event}: not an incident event")
