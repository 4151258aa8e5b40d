"""KV `delivery`: the notifier's shared delivery state, every write conditional.

Keys (tokens escaped with claims.escape_token):
- `reply.sms.<digits>.<code>`, `reply.mail.<id>`: reply bindings (custody.auth.links), read by
  intake to act on "ack 7f3a" only for the number or address that was paged;
- `window.<channel>.<address>`: when that address last got a throttled send;
- `bundle.<channel>.<address>`: pages waiting for the window, bundled by whoever opens it;
- `backoff.<channel>`: a provider-wide Retry-After, honoured by every replica;
- `batch.<kind>.<recipient>.<date>`: a digest or morning batch (domain.digest.BatchDoc);
- `notice.<...>`: the send claim of one cross-channel notice;
- `receipt.<channel>.<provider id>`: which page claim a delivery receipt belongs to.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from custody.auth.links import ReplyBinding
from custody_notifier.domain.claims import escape_token
from custody_notifier.domain.throttle import Waiting, decode_waiting, encode_waiting, join
from custody_notifier.domain.throttle import window_wait as _window_wait

CAS_ATTEMPTS = 20
Change = Callable[[bytes | None], bytes | None]  # None: leave the key as it is


class Conflict(Exception):
    """The key kept changing under us; the caller retries later (transient)."""


class DeliveryStore:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def get(self, key: str) -> tuple[int, bytes] | None:
        try:
            entry = await self.kv.get(key)
        except KeyNotFoundError:
            return None
        return entry.revision or 0, entry.value or b""

    async def change(self, key: str, change: Change) -> bytes | None:
        """Apply `change` by compare-and-set until it sticks; the value written, or None
        when `change` left the key alone."""
        for _ in range(CAS_ATTEMPTS):
            found = await self.get(key)
            new = change(found[1] if found else None)
            if new is None:
                return None
            try:
                if found is None:
                    await self.kv.create(key, new)
                else:
                    await self.kv.update(key, new, last=found[0])
            except KeyWrongLastSequenceError:
                continue
            return new
        raise Conflict(f"{key} kept changing")

    async def create(self, key: str, value: bytes) -> int | None:
        try:
            return await self.kv.create(key, value)
        except KeyWrongLastSequenceError:
            return None

    async def update(self, key: str, value: bytes, revision: int) -> int | None:
        try:
            return await self.kv.update(key, value, last=revision)
        except KeyWrongLastSequenceError:
            return None

    # --- replies --------------------------------------------------------------------------

    async def bind_reply(self, key: str, binding: ReplyBinding) -> None:
        # A put, not a create: the latest page of that escalation to that number rebinds it.
        await self.kv.put(key, binding.to_json())

    # --- throttle windows and bundles -----------------------------------------------------

    async def take_window(
        self, channel: str, address: str, now: datetime, window_s: float
    ) -> float:
        """Take the address's window: 0.0 if we now hold it, else the seconds until it opens."""
        key = f"window.{channel}.{escape_token(address)}"
        for _ in range(CAS_ATTEMPTS):
            found = await self.get(key)
            last = _time(json.loads(found[1]).get("sent_at")) if found else None
            wait = _window_wait(last, now, window_s)
            if wait > 0:
                return wait
            value = json.dumps({"sent_at": now.isoformat()}).encode()
            done = await (
                self.create(key, value) if found is None else self.update(key, value, found[0])
            )
            if done is not None:
                return 0.0
        raise Conflict(f"{key} kept changing")

    async def wait_in_bundle(self, channel: str, address: str, item: Waiting) -> None:
        def add(raw: bytes | None) -> bytes | None:
            joined = join(decode_waiting(raw), item)
            return None if joined is None else encode_waiting(joined)

        await self.change(self.bundle_key(channel, address), add)

    async def waiting(self, channel: str, address: str) -> list[Waiting]:
        found = await self.get(self.bundle_key(channel, address))
        return decode_waiting(found[1] if found else None)

    async def leave_bundle(self, channel: str, address: str, keys: set[str]) -> None:
        def remove(raw: bytes | None) -> bytes | None:
            items = decode_waiting(raw)
            kept = [i for i in items if i.claim_key not in keys]
            return None if len(kept) == len(items) else encode_waiting(kept)

        await self.change(self.bundle_key(channel, address), remove)

    @staticmethod
    def bundle_key(channel: str, address: str) -> str:
        return f"bundle.{channel}.{escape_token(address)}"

    # --- provider back-off ----------------------------------------------------------------

    async def backoff_until(self, channel: str) -> datetime | None:
        found = await self.get(f"backoff.{channel}")
        return _time(json.loads(found[1]).get("until")) if found else None

    async def back_off(self, channel: str, until: datetime) -> None:
        def later(raw: bytes | None) -> bytes | None:
            current = _time(json.loads(raw).get("until")) if raw else None
            if current is not None and current >= until:
                return None
            return json.dumps({"until": until.isoformat()}).encode()

        await self.change(f"backoff.{channel}", later)


def _time(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
