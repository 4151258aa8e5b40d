"""What every callback shares: its KV stores (bound lazily, once the bus is up), replay and
single-use markers, recording refusals through the door, and issuing the command.

Order of every acting callback, and why it is safe to retry:
verify the signature → reject a replayed callback id → check the binding (sender, expiry) →
refuse if the token or reply was already used → issue the command under a *deterministic*
command id → mark the token used. A crash or a race between the check and the mark issues
the same command id again, which JetStream drops as a duplicate.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from custody import clock, subjects
from custody.auth.links import (
    ActionClaims,
    LinkKeys,
    ReplyBinding,
    TokenRefused,
    verify,
    verifying_keys,
)
from custody.contracts import CommandIssued, CommandOutcome, Refusal
from custody.contracts.facts import CommandAction
from custody.policy.store import PolicyCache, StoredPolicy
from custody_intake import door as door_module
from custody_intake.callbacks.settings import CallbackSettings
from custody_intake.domain.identity import command_event_id
from custody_intake.domain.rejection import Rejection, refuse
from custody_intake.door import Caller, Door

T = TypeVar("T")
ESCALATION_ID = re.compile(r"^esc-[A-Za-z0-9_-]{1,60}$")
_PAST = {"ack": "Acknowledged", "resolve": "Resolved"}
_STATUS = {"not_custodian": 403, "not_found": 404}  # as the command routes answer them


def documented(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses of a callback route, in intake's one refusal shape."""
    why = {
        200: "acted (or, for a GET, the confirmation page)",
        403: "bad or missing signature, wrong sender, or not allowed",
        404: "unknown reply address, probe or escalation",
        409: "replayed callback, or the token or reply was already used",
        410: "the link or reply code has expired",
        422: "the reply says neither ack nor resolve",
        503: "the bus is unavailable: the provider should retry",
    }
    shaped: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        shaped[code] = {"description": why[code]} | ({} if code == 200 else {"model": Refusal})
    return shaped


@dataclass(frozen=True)
class Stores:
    callbacks: KeyValue  # spent tokens, replayed ids, canary probes
    delivery: KeyValue  # the notifier's reply bindings (read only)
    policy: PolicyCache


class Callbacks:
    def __init__(self, door: Door, settings: CallbackSettings) -> None:
        self.door = door
        self.settings = settings
        self._keys: LinkKeys | None = None
        self._stores: Stores | None = None
        self._lock = asyncio.Lock()

    def verify(self, token: str) -> ActionClaims:
        """A genuine, unexpired token's claims (`TokenRefused` otherwise). Keys load on first
        use, and intake never creates the dev key: the notifier, which signs, does."""
        if self._keys is None:
            self._keys = verifying_keys(self.settings.link_keys, self.settings.data_dir)
        if self._keys is None:
            raise TokenRefused("unknown_key", "no link keys are configured (CUSTODY_LINK_KEYS)")
        return verify(self._keys, token, clock.now())

    async def stores(self) -> Stores:
        async with self._lock:
            if self._stores is None:
                kv = self.door.gateway.broker.key_value
                self._stores = Stores(
                    callbacks=await kv(subjects.KV_CALLBACKS, declare=False),
                    delivery=await kv(subjects.KV_DELIVERY, declare=False),
                    policy=PolicyCache(await kv(subjects.KV_POLICY, declare=False)),
                )
            return self._stores

    async def policy(self) -> StoredPolicy:
        return await (await self.stores()).policy.current(clock.monotonic())

    async def admit(
        self, raw: bytes, source: str, work: Callable[[], Awaitable[T]]
    ) -> T | Rejection:
        """Run `work`; a refusal it raises is kept in REJECTED (named after `source`, e.g.
        "sms:+46700000009") and returned, so a wrong sender is refused *and* recorded."""

        async def named(caller: Caller) -> T:
            caller.name = source
            return await work()

        request = door_module.Request(raw=raw, token=None, request_id=uuid.uuid4().hex)
        budget = self.door.budget_s + self.settings.command_wait_s
        return await self.door.admit(request, named, budget_s=budget)

    async def first_time(self, key: str) -> bool:
        """Create `key` in KV `callbacks`: False when it exists (a replay, a used token)."""
        try:
            await (await self.stores()).callbacks.create(key, clock.now().isoformat().encode())
        except KeyWrongLastSequenceError:
            return False
        return True

    async def used(self, key: str) -> bool:
        try:
            await (await self.stores()).callbacks.get(key)
        except KeyNotFoundError:
            return False
        return True

    async def binding(self, key: str) -> ReplyBinding | None:
        """A reply binding the notifier wrote when it sent a page (KV `delivery`)."""
        try:
            entry = await (await self.stores()).delivery.get(key)
        except KeyNotFoundError:
            return None
        return ReplyBinding.from_json(entry.value)

    async def reject_replay(self, provider: str, key: str) -> None:
        if not await self.first_time(key):
            raise refuse(409, "replayed", "(callback)", f"this {provider} callback was seen before")

    async def act(
        self,
        *,
        escalation_id: str,
        actor: str,
        action: CommandAction,
        via: str,
        command_id: str,
        note: str = "",
    ) -> str:
        """Issue the command and say what happened, in one line a phone can show."""
        if not ESCALATION_ID.match(escalation_id):
            raise refuse(404, "not_found", "escalation", f"no escalation {escalation_id[:80]}")
        cmd = CommandIssued(
            event_id=command_event_id(command_id),
            escalation_id=escalation_id,
            occurred_at=clock.now(),
            command_id=command_id,
            action=action,
            actor=actor,
            note=note,
            via=via,
        )
        _, outcome = await self.door.gateway.command(cmd, self.settings.command_wait_s)
        return describe(action, escalation_id, outcome)


def describe(action: str, escalation_id: str, outcome: CommandOutcome | None) -> str:
    if outcome is None:
        return f"{action} {escalation_id}: queued, the escalator has not answered yet"
    if not outcome.accepted:
        code = outcome.error_code or "refused"
        raise refuse(_STATUS.get(code, 409), code, "escalation", outcome.message)
    return f"{_PAST.get(action, action)} {escalation_id}: now {outcome.state}"
