"""List cursors round-trip and refuse anything else."""

import pytest

from custody_ledger.domain.paging import decode_cursor, encode_cursor
from tests.unit.ledger.factories import at


def test_a_cursor_round_trips() -> None:
    assert decode_cursor(encode_cursor(at(3), "esc-1")) == (at(3), "esc-1")


@pytest.mark.parametrize("cursor", ["", "nope", "W10", "WyJ4IiwieSJd", "WyIyMDI2LTAxLTAxIiwiZSJd"])
def test_a_malformed_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(ValueError, match="malformed"):
        decode_cursor(cursor)
