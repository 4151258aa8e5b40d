"""The page claims in KV `page_claims`: create before sending, then move on by revision.

Every write is conditional (create, or update on the revision we hold), so of any number of
senders exactly one owns a claim at a time, and a record only ever moves forward.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from dataclasses import replace

import structlog
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from custody import clock
from custody_notifier.domain.claims import Claim, ClaimStatus

log = structlog.get_logger(__name__)
# How long `finish` keeps trying to record an outcome it knows. A broker restart takes a few
# seconds; giving up sooner turned known outcomes into page_in_doubt (chaos: broker crashes).
# It must end well inside the claim lease, or a redelivery would call the page in doubt first.
FINISH_BUDGET_S = 20.0

Held = tuple[int, Claim]  # (revision, record) of a claim this sender owns


class ClaimStore:
    def __init__(self, kv: KeyValue, finish_budget_s: float = FINISH_BUDGET_S) -> None:
        self._kv = kv
        self._claimant = f"{os.uname().nodename}:{os.getpid()}"
        self._finish_budget_s = finish_budget_s

    async def read(self, key: str) -> Held | None:
        try:
            entry = await self._kv.get(key)
        except KeyNotFoundError:
            return None
        return entry.revision or 0, Claim.from_json(entry.value)

    def record(
        self, page_id: str, status: ClaimStatus, detail: str = "", retry_at: str = ""
    ) -> Claim:
        return Claim(
            status=status,
            page_id=page_id,
            claimed_at=clock.now().isoformat(),
            claimant=f"{self._claimant}:{uuid.uuid4().hex}",
            detail=detail,
            retry_at=retry_at,
        )

    async def create(self, key: str, record: Claim) -> Held | None:
        """Create the claim; None if the key already exists. A create that timed out may
        still have landed: the claimant token tells our own record from someone else's."""
        try:
            return await self._kv.create(key, record.to_json()), record
        except KeyWrongLastSequenceError:
            return None
        except Exception:
            with contextlib.suppress(KeyNotFoundError):
                entry = await self._kv.get(key)
                if Claim.from_json(entry.value).claimant == record.claimant and entry.revision:
                    return entry.revision, record
            raise

    async def take_back(self, key: str, held: Held, page_id: str) -> Held | None:
        """A `retry` claim back to `claimed`, on its revision: one sender wins, the others
        get None and re-read."""
        revision, _ = held
        record = self.record(page_id, "claimed")
        try:
            return await self._kv.update(key, record.to_json(), last=revision), record
        except KeyWrongLastSequenceError:
            return None

    async def overwrite(self, key: str, revision: int, record: Claim) -> bool:
        """Replace a finished claim on its revision (a receipt); False if it moved meanwhile."""
        try:
            await self._kv.update(key, record.to_json(), last=revision)
        except KeyWrongLastSequenceError:
            return False
        return True

    async def finish(
        self,
        key: str,
        held: Held,
        status: ClaimStatus,
        *,
        detail: str,
        provider_id: str = "",
        retry_at: str = "",
    ) -> Held:
        """Move our own claim on, on the revision we hold, retrying through a broker outage
        for up to the finish budget. If that runs out the claim stays "claimed", and once its
        lease runs out a redelivery reports page_in_doubt: conservative, since the record
        never learnt the outcome."""
        revision, claim = held
        record = replace(
            claim,
            status=status,
            finished_at=clock.now().isoformat(),
            provider_id=provider_id,
            detail=detail[:2000],
            retry_at=retry_at,
        )
        give_up_at = clock.monotonic() + self._finish_budget_s
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._kv.update(key, record.to_json(), last=revision), record
            except KeyWrongLastSequenceError:
                # An earlier try that timed out may have landed; anything else is not ours.
                found = await self.read(key)
                if found is not None and found[1] == record:
                    return found
                raise
            except Exception as exc:
                log.warning("page.claim_update_retry", attempt=attempt, error=repr(exc))
                if clock.monotonic() >= give_up_at:
                    log.error("page.outcome_unrecorded", status=status, detail=detail)
                    raise
                await asyncio.sleep(min(0.2 * attempt, 2.0))
