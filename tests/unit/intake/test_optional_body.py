"""A command's or a heartbeat ping's body is optional, but a body that is sent must be a JSON
object. Schemathesis found a body of only white space taken for "no body" on both routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from custody_intake.domain.rejection import Refused
from custody_intake.routes.commands import command_body
from custody_intake.routes.heartbeats import declaration

READERS: dict[str, Callable[[bytes, int | None], Any]] = {
    "command": command_body,
    "heartbeat": declaration,
}
NOT_OBJECTS = [b" ", b"\t", b"  \n", b"null", b"[]", b"to=carol"]


def test_no_body_is_an_empty_command() -> None:
    body = command_body(b"", None)
    assert (body.to, body.note, body.reason, body.role) == (None, "", "", None)


def test_no_body_is_a_ping_that_declares_nothing() -> None:
    ping = declaration(b"", None)
    assert (ping.interval_s, ping.severity, ping.service) == (None, None, None)


@pytest.mark.parametrize("raw", NOT_OBJECTS)
@pytest.mark.parametrize("route", sorted(READERS))
def test_a_body_that_is_not_a_json_object_is_refused(route: str, raw: bytes) -> None:
    with pytest.raises(Refused) as caught:
        READERS[route](raw, None)
    assert caught.value.rejection.status in (400, 422)
    assert caught.value.rejection.field == "(body)"


def test_a_json_body_is_read() -> None:
    assert command_body(b'{"to": "carol"}', None).to == "carol"
    assert declaration(b'{"interval": 60, "service": "db"}', None).interval_s == 60


@pytest.mark.parametrize("route", sorted(READERS))
def test_an_unknown_field_is_refused(route: str) -> None:
    with pytest.raises(Refused) as caught:
        READERS[route](b'{"colour": "red"}', None)
    assert caught.value.rejection.field == "colour"
