"""The checkpoint signing key: created once (0600) with its public half beside it, then reused;
a place it cannot be created says what to do."""

from pathlib import Path

import pytest

from custody_ledger.adapters.signing_key import load_or_create, load_public
from custody_ledger.domain.checkpoints import key_id


def test_the_key_is_created_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "ledger-signing.key"
    first = load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    again = load_or_create(path)
    assert key_id(again.public_key()) == key_id(first.public_key())
    trusted = load_public(tmp_path / "ledger-signing.pub")
    assert key_id(trusted) == key_id(first.public_key())


def test_an_unwritable_place_names_the_setting(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "secret"
    not_a_dir.write_text("a file where a directory should be")
    with pytest.raises(OSError, match="CUSTODY_LEDGER_SIGNING_KEY"):
        load_or_create(not_a_dir / "ledger-signing.key")
