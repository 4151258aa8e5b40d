"""The door answers "unavailable, retry" (503) whenever the bus cannot back a claim: a time-out,
or nothing on the bus answering yet, right after nats-server restarted: a KV direct read, a KV
write (nats-py says NoStreamResponseError) or JetStream's own 503."""

from __future__ import annotations

from typing import Any, cast

import pytest
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import NoStreamResponseError, ServiceUnavailableError

from custody.bus.publishing import BusUnavailable
from custody_intake.door import Caller, Door, Request


@pytest.mark.parametrize(
    "error", [NoRespondersError, NatsTimeoutError, NoStreamResponseError, ServiceUnavailableError]
)
async def test_a_bus_that_does_not_answer_is_unavailable(error: type[Exception]) -> None:
    # No gateway or raiser: neither is reached when the work itself fails this way.
    door = Door(cast(Any, None), cast(Any, None), budget_s=1.0)

    async def work(caller: Caller) -> None:
        raise error()

    with pytest.raises(BusUnavailable):
        await door.admit(Request(raw=b"{}", token=None, request_id="r1"), work)
