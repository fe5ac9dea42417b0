"""The customer's confirmation after a portal submit: an outbox in Redis, delivered by the ops worker.

The submit only adds one member, "<tracking token> <lang>", to a due-time sorted set: one ZADD,
so it never waits on SMTP or an SMS provider and never fails because of them. The ops worker
claims due members with a lease (`claim_due.lua`): a worker that dies mid-send leaves them to
come due again when the lease runs out, so nothing is lost. The channels that took a return's
message are remembered, so a retry sends only on the ones that failed. A member that keeps
failing is retried with backoff and, after MAX_TRIES, moved to a bounded dead list for ops.
The message is rendered when it is sent, from the return as it is then (booked, or waiting
for approval).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from importlib import resources
from typing import Any, cast
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis

from carriers.clock import Clock
from gateway.metrics import Metrics
from gateway.models import Merchant, Return
from gateway.ops.notify import Channel, Notifier, NotifyFailed
from gateway.pages.i18n import DEFAULT_LANGUAGE, LANGUAGES, Formatter
from gateway.store.keys import Keys
from gateway.store.merchants import MerchantStore
from gateway.store.returns import ReturnStore
from gateway.store.server import text

log = logging.getLogger(__name__)
TEMPLATE = "return_created"
CHANNELS = ("email", "sms")
LEASE_S = 120
MAX_TRIES = 8
BACKOFF_S = (30, 60, 120, 300, 600, 1800, 3600)
DEAD_KEPT = 1000
# Long enough for any retry to see which channels already took the message.
_CONFIRMED_TTL_S = 7 * 24 * 3600
_CLAIM = resources.files("gateway.store").joinpath("claim_due.lua").read_text(encoding="utf-8")


async def enqueue(redis: aioredis.Redis, keys: Keys, token: str, lang: str, now_s: float) -> None:
    """Queue the confirmation of the return with this tracking token, in the customer's page language."""
    await redis.zadd(keys.portal_confirm_due(), {f"{token} {lang}": now_s})


def stage_of(ret: Return) -> str:
    """"review" while a person must approve it, "booked" once a carrier has it, else "requested"."""
    if ret.review is not None and ret.review.status == "pending":
        return "review"
    return "booked" if ret.shipment is not None else "requested"


def values(ret: Return, merchant: Merchant, lang: str, base_url: str) -> dict[str, object]:
    """What `return_created.txt` may use."""
    req = ret.requested
    # A calendar day needs no time zone; the formatter shows it in the customer's language.
    day = Formatter(lang, ZoneInfo("UTC")).day(req.pickup_date) if req.pickup_date else ""
    return {"customer_name": req.customer.name, "merchant_name": merchant.display_name or merchant.name,
            "order_id": ret.order_id, "return_id": ret.id, "stage": stage_of(ret), "pickup_date": day,
            "items": [{"name": i.name, "quantity": i.quantity, "sku": i.sku} for i in req.items],
            "tracking_url": f"{base_url}/t/{ret.tracking_token}?lang={lang}",
            "support_email": merchant.support_email, "support_phone": merchant.support_phone}


@dataclass(frozen=True)
class ConfirmationSender:
    redis: aioredis.Redis
    keys: Keys
    clock: Clock
    store: ReturnStore
    merchants: MerchantStore
    notifier: Notifier
    metrics: Metrics

    async def drain(self, limit: int = 100) -> int:
        """Send every confirmation that is due; the number taken."""
        now = self.clock.now().timestamp()
        claim = self.redis.register_script(_CLAIM)
        members = [text(m) for m in cast(list[Any], await claim(keys=[self.keys.portal_confirm_due()],
                                                                 args=[now, now + LEASE_S, limit]))]
        for member in members:
            try:
                is_done = await self.deliver(member)
            except Exception:  # a bad template or a store error: retried like a channel failure
                log.exception("return confirmation failed", extra={"member": member.split(" ")[0][:6]})
                is_done = False
            await (self._finish(member) if is_done else self._retry(member, now))
        return len(members)

    async def deliver(self, member: str) -> bool:
        """True when nothing is left to send: every reaching channel took it, or nothing can reach the customer."""
        token, _, lang = member.partition(" ")
        ret = await self.store.by_token(token)
        merchant = await self.merchants.get(ret.merchant_id) if ret is not None else None
        if ret is None or ret.request is None or merchant is None:
            return True  # discarded meanwhile: there is nothing to confirm
        customer = ret.request.customer
        channels = [c for c in self.notifier.channels if c.name in CHANNELS and c.reaches(customer)]
        if not channels:
            self.metrics.portal_confirmations.labels("unreachable").inc()
            return True
        lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        base = merchant.public_base(self.notifier.public_url)
        message = self.notifier.templates.render(merchant.id, lang, TEMPLATE, values(ret, merchant, lang, base))
        done_key = self.keys.portal_confirmed(ret.merchant_id, ret.id)
        done = {text(c) for c in cast(set[Any], await self.redis.smembers(done_key))}
        is_done = all([await self._send(c, ret, message, done_key) for c in channels if c.name not in done])
        if is_done:
            self.metrics.portal_confirmations.labels("sent").inc()
        return is_done

    async def _send(self, channel: Channel, ret: Return, message: Any, done_key: str) -> bool:
        assert ret.request is not None
        try:
            await channel.send(ret.request.customer, message)
        except NotifyFailed as exc:
            self.metrics.notifications.labels(channel.name, "failed").inc()
            log.warning("return confirmation not sent", extra={"return_id": ret.id, "error": str(exc)})
            return False
        self.metrics.notifications.labels(channel.name, "sent").inc()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(done_key, channel.name)
            pipe.expire(done_key, _CONFIRMED_TTL_S)
            await pipe.execute()
        return True

    async def _finish(self, member: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.portal_confirm_due(), member)
            pipe.hdel(self.keys.portal_confirm_tries(), member)
            await pipe.execute()

    async def _retry(self, member: str, now: float) -> None:
        tries = int(await self.redis.hincrby(self.keys.portal_confirm_tries(), member, 1))
        if tries < MAX_TRIES:
            delay = BACKOFF_S[min(tries, len(BACKOFF_S)) - 1]
            await self.redis.zadd(self.keys.portal_confirm_due(), {member: now + delay})
            self.metrics.portal_confirmations.labels("retry").inc()
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.portal_confirm_due(), member)
            pipe.hdel(self.keys.portal_confirm_tries(), member)
            pipe.lpush(self.keys.portal_confirm_dead(), json.dumps({"member": member, "at": now, "tries": tries}))
            pipe.ltrim(self.keys.portal_confirm_dead(), 0, DEAD_KEPT - 1)
            await pipe.execute()
        self.metrics.portal_confirmations.labels("given_up").inc()
        log.error("return confirmation given up", extra={"tries": tries})
