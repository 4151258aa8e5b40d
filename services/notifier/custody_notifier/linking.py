"""Signed ack and resolve links, and reply bindings, for one page (custody.auth.links).

Links are self-contained signed tokens, verified by intake at `/a/<token>`. Replies carry no
token (an SMS says "ack 7f3a"; an email goes to a short reply address), so before a page goes
out its reply is bound in KV `delivery` to the number or address it is sent to.
"""

from __future__ import annotations

from datetime import timedelta

from custody import clock
from custody.auth.links import (
    ActionClaims,
    LinkKeys,
    ReplyBinding,
    issue,
    mail_reply_id,
    mail_reply_key,
    sms_reply_key,
    token_id_for,
)
from custody.contracts import PageRequested
from custody_notifier.adapters.delivery_store import DeliveryStore
from custody_notifier.domain.render import PageLinks, ack_code

ACTION_PATH = "/a/"


class Linker:
    def __init__(
        self,
        keys: LinkKeys,
        store: DeliveryStore | None,
        *,
        links_base: str,
        reply_domain: str,
        ttl: timedelta,
    ) -> None:
        self._keys = keys
        self._store = store
        self._base = links_base.rstrip("/")
        self._domain = reply_domain
        self._ttl = ttl

    def links(self, page: PageRequested, reply_to: str = "") -> PageLinks:
        """Ack and resolve links bound to this recipient and escalation, expiring after the
        TTL. Their token ids derive from the page id: a re-render gives the same links."""
        expires = clock.now() + self._ttl
        tokens = {
            action: issue(
                self._keys,
                ActionClaims(
                    recipient=page.recipient,
                    escalation_id=page.escalation_id,
                    action=action,
                    expires_at=expires,
                    token_id=token_id_for(page.page_id, action),
                ),
            )
            for action in ("ack", "resolve")
        }
        return PageLinks(
            ack_url=f"{self._base}{ACTION_PATH}{tokens['ack']}",
            resolve_url=f"{self._base}{ACTION_PATH}{tokens['resolve']}",
            ack_token=tokens["ack"],
            resolve_token=tokens["resolve"],
            reply_to=reply_to,
        )

    async def bind(self, page: PageRequested, address: str) -> PageLinks:
        """Links for the page, after binding its replies on its channel (sms, email)."""
        if self._store is None or page.channel not in ("sms", "email"):
            return self.links(page)
        binding = ReplyBinding(
            recipient=page.recipient,
            escalation_id=page.escalation_id,
            address=address,
            page_id=page.page_id,
            expires_at=clock.now() + self._ttl,
        )
        if page.channel == "sms":
            await self._store.bind_reply(
                sms_reply_key(address, ack_code(page.escalation_id)), binding
            )
            return self.links(page)
        reply_id = mail_reply_id(self._keys.signing[1], page.page_id)
        await self._store.bind_reply(mail_reply_key(reply_id), binding)
        return self.links(page, reply_to=f"reply+{reply_id}@{self._domain}")
