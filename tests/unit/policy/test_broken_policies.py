"""A corpus of broken policy files: each names the problems it must produce, line included.

Every file under broken/ starts with `# expect: LINE: PATH: MESSAGE` lines, one per problem
the loader must report, and no more. The message is what the operator reads at 03:00, so it
is compared exactly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from custody.policy import PolicyError, load_policy

CORPUS = sorted((Path(__file__).parent / "broken").glob("*.yaml"))


def expected_problems(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        f"{path}:{line.removeprefix('# expect: ')}"
        for line in lines
        if line.startswith("# expect: ")
    ]


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 20


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_broken_policy_names_file_line_field_and_fix(path: Path) -> None:
    expected = expected_problems(path)
    assert expected, f"{path.name} has no '# expect:' line"
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert str(caught.value).splitlines() == expected
    assert [str(p) for p in caught.value.problems] == expected


def test_problems_come_one_per_line_sorted_by_line(tmp_path: Path) -> None:
    source = (Path(__file__).parent / "broken" / "05_route_to_missing_chain.yaml").read_text()
    path = tmp_path / "two.yaml"
    path.write_text(source.replace("team: ops,", "team: opps,").replace("admins", "x"))
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert str(caught.value).splitlines() == [
        f"{path}:13: routes[0].team: unknown team 'opps' (did you mean ops?)",
        f"{path}:14: routes[0].chain: unknown chain 'defualt' (did you mean default?)",
    ]


def test_references_are_checked_once_the_shape_is_right(tmp_path: Path) -> None:
    """A structural error (a bad zone) is reported alone: names are checked afterwards,
    against a policy that parsed."""
    source = (Path(__file__).parent / "broken" / "01_misspelt_person_zone.yaml").read_text()
    path = tmp_path / "mixed.yaml"
    path.write_text(source.replace("chain: default}", "chain: nope}"))
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert [p.path for p in caught.value.problems] == ["people.ben.timezone"]


def test_missing_file_is_one_clear_problem(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path / "nope.yaml")
    assert str(caught.value) == f"{tmp_path / 'nope.yaml'}:0: (file): No such file or directory"
