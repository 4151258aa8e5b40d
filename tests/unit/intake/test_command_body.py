"""A command's body is optional, but a body that is sent must be a JSON object."""

from __future__ import annotations

import pytest

from custody_intake.domain.rejection import Refused
from custody_intake.routes.commands import command_body


def test_no_body_is_an_empty_command() -> None:
    body = command_body(b"", None)
    assert (body.to, body.note, body.reason, body.role) == (None, "", "", None)


@pytest.mark.parametrize("raw", [b"\t", b"  \n", b"null", b"[]", b"to=carol"])
def test_a_body_that_is_not_a_json_object_is_refused(raw: bytes) -> None:
    # Schemathesis found `\t` accepted as "no body" (202 queued) for a reassign.
    with pytest.raises(Refused) as caught:
        command_body(raw, None)
    assert caught.value.rejection.status in (400, 422)
    assert caught.value.rejection.field == "(body)"


def test_a_json_body_is_read() -> None:
    assert command_body(b'{"to": "carol"}', None).to == "carol"
