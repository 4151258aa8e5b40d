"""The agent SDK: raise an incident and get its escalation id once it is durably accepted.

    from custody.client import CustodyClient, Event
    client = CustodyClient("http://127.0.0.1:8610", token)  # or "nats://127.0.0.1:4222"
    event = Event("monitor-1", "checkout 5xx", "red").service("checkout").dedup_key("5xx")
    result = await client.raise_incident(event)
    print(result.escalation_id)  # durable: JetStream acknowledged it

Every retry sends the very same bytes with the same `Idempotency-Key`, so a retry after a
timeout is never a second incident. `SyncCustodyClient` is the same for code that is not async.
"""

from custody.client.clients import (
    CustodyClient,
    LedgerClient,
    RaiseResult,
    SyncCustodyClient,
    raise_incident_sync,
)
from custody.client.event import Event, seconds
from custody.client.transports import CustodyError

__all__ = [
    "CustodyClient",
    "CustodyError",
    "Event",
    "LedgerClient",
    "RaiseResult",
    "SyncCustodyClient",
    "raise_incident_sync",
    "seconds",
]
