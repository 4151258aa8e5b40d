"""Delivery receipts: the SMS provider's status callbacks, recorded on the page's claim.

When an SMS is accepted, `receipt.sms.<provider id>` in KV `delivery` remembers which claims
(the page, plus any pages bundled with it) and which page it was. The provider later posts
the message's status, signed (X-Twilio-Signature) over the URL we gave it:
- delivered: the claim records the receipt;
- failed / undelivered: the page never arrived. Its claim becomes `failed`, page_failed is
  announced, and the page falls back to the next channel of its plan.
Receipts are idempotent: a repeated status changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from custody import clock
from custody.auth.signatures import TWILIO_SIGNATURE_HEADER, verify_twilio
from custody.contracts import PageRequested
from custody_notifier.adapters.delivery_store import DeliveryStore
from custody_notifier.domain.claims import Claim, escape_token

if TYPE_CHECKING:
    from custody_notifier.pages import PageSender

log = structlog.get_logger(__name__)
RECEIPT_PATH = "/v1/receipts/sms"
FINAL_FAILURES = ("failed", "undelivered")
KNOWN = ("queued", "accepted", "sending", "sent", "delivered", "read", *FINAL_FAILURES)


class ReceiptIndex:
    def __init__(self, store: DeliveryStore, channels: tuple[str, ...] = ("sms",)) -> None:
        self._store = store
        self._channels = channels

    async def remember(self, page: PageRequested, claim_keys: list[str], provider_id: str) -> None:
        if page.channel not in self._channels:
            return
        value = {"claim_keys": claim_keys, "page": json.loads(page.to_json())}
        await self._store.kv.put(self.key(page.channel, provider_id), json.dumps(value).encode())

    async def lookup(
        self, channel: str, provider_id: str
    ) -> tuple[list[str], PageRequested] | None:
        found = await self._store.get(self.key(channel, provider_id))
        if found is None:
            return None
        data = json.loads(found[1])
        page = PageRequested.model_validate(data["page"])
        return [str(k) for k in data["claim_keys"]], page

    @staticmethod
    def key(channel: str, provider_id: str) -> str:
        return f"receipt.{channel}.{escape_token(provider_id)}"


class Receipts:
    def __init__(self, index: ReceiptIndex, sender: PageSender, auth_token: str, url: str) -> None:
        self._index = index
        self._sender = sender
        self._auth_token = auth_token
        self._url = url

    def app(self) -> FastAPI:
        app = FastAPI(title="Custody notifier receipts", version="1")
        app.include_router(self.router())

        @app.get("/healthz")
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        return app

    def router(self) -> APIRouter:
        api = APIRouter(tags=["receipts"])

        @api.post(RECEIPT_PATH, summary="SMS delivery receipt (Twilio status callback)")
        async def sms_receipt(request: Request) -> JSONResponse:
            raw = await request.body()
            params = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
            header = request.headers.get(TWILIO_SIGNATURE_HEADER)
            if not verify_twilio(self._auth_token, self._url, params, header):
                log.warning("receipt.bad_signature")
                return JSONResponse({"error_code": "bad_signature"}, status_code=403)
            form = dict(params)
            recorded = await self.record(form.get("MessageSid", ""), form.get("MessageStatus", ""))
            return JSONResponse({"recorded": recorded})

        return api

    async def record(self, provider_id: str, status: str) -> bool:
        """Record one status on the claims it concerns; True if it was for a page we sent."""
        status = status.lower()
        found = await self._index.lookup("sms", provider_id) if provider_id else None
        if found is None or status not in KNOWN:
            log.info("receipt.ignored", provider_id=provider_id, status=status)
            return False
        keys, page = found
        failed = status in FINAL_FAILURES
        for key in keys:
            await self._note(key, status, failed)
        log.info("receipt.recorded", provider_id=provider_id, status=status, page_id=page.page_id)
        if failed:
            await self._sender.undelivered(page, f"sms receipt: {status}")
        return True

    async def _note(self, key: str, status: str, failed: bool) -> None:
        claims = self._sender.claims
        held = await claims.read(key)
        if held is None or held[1].status not in ("sent", "failed"):
            return
        claim: Claim = held[1]
        if claim.receipt.startswith(status):
            return  # already recorded: a repeated callback
        receipt = f"{status} at {clock.now().isoformat()}"
        if failed:
            updated = replace(
                claim, status="failed", receipt=receipt, detail=f"undelivered: {status}"
            )
        else:
            updated = replace(claim, receipt=receipt)
        await claims.overwrite(key, held[0], updated)
