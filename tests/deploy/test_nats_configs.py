"""The committed NATS configs are exactly what permissions.py renders today, and every flavour
(dev, compose, Kubernetes) passes `nats-server -t`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custody import nats_config, permissions
from custody.cli.deploy import compose_env
from custody.nkey import UserKey, is_user_public_key
from tests.deploy.structure import ROOT, nats_config_check, parse_command


@pytest.mark.parametrize("relative", sorted(nats_config.committed_files()))
def test_committed_config_matches_what_the_code_renders(relative: str) -> None:
    committed = (ROOT / relative).read_text()
    rendered = nats_config.committed_files()[relative]
    assert committed == rendered, (
        f"{relative} is out of date with libs/custody/permissions.py and subjects.py: "
        "run `custody deploy render`"
    )


def test_render_check_reports_drift_and_render_repairs_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from custody.cli.context import CliError, Context
    from custody.cli.deploy import render

    ctx = Context(data_dir=tmp_path, json=True)
    with pytest.raises(CliError, match="out of date"):
        render(ctx, parse_command(["deploy", "render", "--check", "--root", str(tmp_path)]))
    render(ctx, parse_command(["deploy", "render", "--root", str(tmp_path)]))
    assert render(ctx, parse_command(["deploy", "render", "--check", "--root", str(tmp_path)])) == 0
    written, _ = json.JSONDecoder().raw_decode(capsys.readouterr().out)  # the first document
    assert sorted(written["written"]) == sorted(nats_config.committed_files())


def test_dev_config_passes_nats_server_t(tmp_path: Path) -> None:
    passwords = nats_config.dev_passwords(tmp_path / "nats-users.json")
    conf = tmp_path / "dev.conf"
    conf.write_text("listen: 127.0.0.1:4222\n" + nats_config.render_dev_authorization(passwords))
    result = nats_config_check(conf, {})
    assert result.returncode == 0, result.stderr


def test_compose_env_from_deploy_secrets_covers_every_password() -> None:
    env = dict(line.split("=", 1) for line in compose_env())
    wanted = {nats_config.password_env(user) for user in permissions.matrix()}
    assert wanted <= set(env)
    compose = (ROOT / "docker-compose.yml").read_text()
    for name in env:
        assert f"${{{name}:-" in compose, f"{name} is not used by docker-compose.yml"


def test_generated_nkeys_are_valid_user_keys_and_round_trip() -> None:
    key = UserKey.generate()
    assert key.seed.startswith("SU")
    assert key.public_key.startswith("U")
    assert is_user_public_key(key.public_key)
    assert UserKey.from_seed(key.seed) == key
    assert not is_user_public_key(key.seed)


def test_a_corrupted_seed_is_refused() -> None:
    from custody.nkey import NKeyError

    seed = UserKey.generate().seed
    corrupted = seed[:10] + ("A" if seed[10] != "A" else "B") + seed[11:]
    with pytest.raises(NKeyError):
        UserKey.from_seed(corrupted)
