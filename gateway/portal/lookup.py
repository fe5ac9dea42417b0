"""Finding an order the merchant did not push: ask its order-lookup webhook, and cache the answer.

The portal's identify step calls `find`. A pushed order always wins. Otherwise, when the
merchant has a lookup endpoint, Backhaul POSTs

    {"type": "order.lookup", "data": {"order_id": "...", "contact": "<email or E.164 phone>"}}

signed like the outbound webhooks (Standard Webhooks: webhook-id, webhook-timestamp,
webhook-signature), within `order_lookup.timeout_s`. `200` with the body of `POST /v1/orders`
is a found order, validated by the same model; `404` is no such order; anything else — a
timeout, a refused connection, another status, a body that is not a valid order for the id
asked — is logged, counted and treated as "unavailable": the customer is asked to try again
shortly, and it is not counted as a wrong guess.

Caching, chosen over storing the answer as if pushed: a looked-up order is the merchant's
data, read on demand, so it must not count in the ordered-units analytics (the return-rate
denominator would then hold only orders someone tried to return) and must not go stale
forever. A found order is kept under `{<mid>}:orderlookup:<oid>` as an Order (`source:
"lookup"`), asked again once older than `order_lookup.cache_s` (10 min), and kept for
`KEEP_S` (a portal session's life) after the last identify that used it, so an open session
never loses its order; `OrderStore.get` reads that copy after the pushed one. When the
endpoint fails and an older copy is still kept, the older copy is used (outcome "stale").
A 404 is kept for `order_lookup.miss_cache_s` (60 s) per order id *and* contact, so a wrong
guess cannot hide a real order from its customer. Concurrent identical lookups in one
process share one call (single flight).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta

import aiohttp
import phonenumbers
import redis.asyncio as aioredis
from pydantic import ValidationError

from carriers.clock import Clock, SystemClock
from gateway.metrics import Metrics
from gateway.models import new_id
from gateway.portal.lookup_endpoint import LookupEndpoint
from gateway.portal.orders import ORDER_ID, Order, OrderIn
from gateway.problems import field_errors
from gateway.settings import OrderLookupSettings
from gateway.store.keys import Keys
from gateway.webhooks_out.signing import signed_headers

log = logging.getLogger(__name__)
# As long as a portal session (gateway/portal/session.py SESSION_TTL_S).
KEEP_S = 30 * 60
USER_AGENT = "Backhaul-OrderLookup/1"
EVENT_TYPE = "order.lookup"
_ORDER_ID = re.compile(ORDER_ID)
_DETAIL_CHARS = 300
Flight = tuple[str, str, str]


class LookupUnavailable(Exception):
    """The merchant's lookup endpoint gave no usable answer in time; the customer should try again shortly."""


class _Failed(Exception):
    """One call's failure, with the outcome label it is counted under."""

    def __init__(self, outcome: str, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome


def normalized_contact(contact: str) -> str | None:
    """What the merchant is sent: the email in lower case or the phone in E.164; None for neither."""
    contact = contact.strip()[:200]
    if "@" in contact:
        return contact.lower()
    try:
        parsed = phonenumbers.parse(contact, "IN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _contact_hash(contact: str) -> str:
    # Keeps customers' emails and phones out of key names (SCAN, MONITOR, slow logs).
    return hashlib.sha256(contact.encode()).hexdigest()[:20]


def parse_answer(raw: bytes, oid: str) -> OrderIn:
    """A 200 answer as an order. Raises: _Failed('invalid')."""
    try:
        order = OrderIn.model_validate_json(raw)
    except ValidationError as exc:
        errors = "; ".join(f"{e['field']}: {e['message']}" for e in field_errors(exc))
        raise _Failed("invalid", errors[:_DETAIL_CHARS]) from exc
    if order.order_id != oid:
        raise _Failed("invalid", f"answered order_id {order.order_id[:40]!r}, not the one asked for")
    return order


@dataclass
class OrderLookup:
    """`find`: pushed order, else cache, else one signed call per order id and contact at a time."""

    redis: aioredis.Redis
    keys: Keys
    http: aiohttp.ClientSession
    settings: OrderLookupSettings
    metrics: Metrics
    clock: Clock
    # Receivers check webhook-timestamp against their own clock, so signatures use the wall clock.
    signing_clock: Clock = field(default_factory=SystemClock)
    _flights: dict[Flight, asyncio.Task[Order | None]] = field(default_factory=dict)

    async def find(self, mid: str, oid: str, contact: str) -> Order | None:
        """The order to identify against, None when there is none. Raises: LookupUnavailable."""
        k, who = self.keys, normalized_contact(contact)
        miss_key = k.order_lookup_miss(mid, oid, _contact_hash(who or ""))
        pushed, kept, missed, endpoint = await self.redis.mget(
            [k.order_doc(mid, oid), k.order_lookup(mid, oid), miss_key, k.order_lookup_endpoint(mid)])
        if pushed:
            return Order.model_validate_json(pushed)
        if not endpoint or who is None or not _ORDER_ID.match(oid):
            return None
        copy = Order.model_validate_json(kept) if kept else None
        if copy is not None and self.clock.now() - copy.updated_at < timedelta(seconds=self.settings.cache_s):
            await self.redis.expire(k.order_lookup(mid, oid), KEEP_S)
            self._count("cached")
            return copy
        if missed:
            self._count("cached_not_found")
            return None
        try:
            return await self._single_flight(mid, oid, who, LookupEndpoint.model_validate_json(endpoint))
        except LookupUnavailable:
            if copy is None:
                raise
            self._count("stale")
            return copy

    async def _single_flight(self, mid: str, oid: str, who: str, endpoint: LookupEndpoint) -> Order | None:
        flight = (mid, oid, who)
        task = self._flights.get(flight)
        if task is None:
            task = asyncio.create_task(self._ask_and_keep(mid, oid, who, endpoint))
            self._flights[flight] = task
            task.add_done_callback(lambda done: self._landed(flight, done))
        # Shielded: one customer closing the page must not cancel the call others wait on.
        return await asyncio.shield(task)

    def _landed(self, flight: Flight, task: asyncio.Task[Order | None]) -> None:
        self._flights.pop(flight, None)
        if not task.cancelled():
            task.exception()  # retrieved here, so a flight nobody awaits any more logs nothing

    async def _ask_and_keep(self, mid: str, oid: str, who: str, endpoint: LookupEndpoint) -> Order | None:
        started = time.monotonic()
        try:
            answer = await self._ask(endpoint, oid, who)
        except _Failed as exc:
            self._observe(exc.outcome, started)
            log.warning("order lookup failed: merchant=%s order_id=%s outcome=%s: %s", mid, oid, exc.outcome, exc)
            raise LookupUnavailable(exc.outcome) from exc
        k = self.keys
        if answer is None:
            await self.redis.set(k.order_lookup_miss(mid, oid, _contact_hash(who)), "1",
                                 ex=self.settings.miss_cache_s)
            self._observe("not_found", started)
            return None
        order = Order(**dict(answer), merchant_id=mid, updated_at=self.clock.now(), source="lookup")
        await self.redis.set(k.order_lookup(mid, oid), order.model_dump_json(), ex=KEEP_S)
        self._observe("found", started)
        return order

    async def _ask(self, endpoint: LookupEndpoint, oid: str, who: str) -> OrderIn | None:
        """The merchant's answer: an order, or None for its 404. Raises: _Failed."""
        body = json.dumps({"type": EVENT_TYPE, "data": {"order_id": oid, "contact": who}}, separators=(",", ":"))
        headers = {**signed_headers(endpoint.secret, new_id("msg"), self.signing_clock.now(), body),
                   "user-agent": USER_AGENT, "accept": "application/json"}
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout_s)
        try:
            async with self.http.post(endpoint.url, data=body.encode(), headers=headers, allow_redirects=False,
                                      timeout=timeout) as resp:
                if resp.status == 404:
                    return None
                if resp.status != 200:
                    raise _Failed("error", f"HTTP {resp.status}")
                raw = await self._read(resp)
        except TimeoutError as exc:
            raise _Failed("timeout", f"no answer within {self.settings.timeout_s:g} s") from exc
        except (aiohttp.ClientError, ValueError) as exc:
            raise _Failed("error", f"{type(exc).__name__}: {exc}"[:_DETAIL_CHARS]) from exc
        return parse_answer(raw, oid)

    async def _read(self, resp: aiohttp.ClientResponse) -> bytes:
        limit, data = self.settings.max_answer_bytes, bytearray()
        async for chunk in resp.content.iter_any():
            data += chunk
            if len(data) > limit:
                raise _Failed("invalid", f"the answer is larger than {limit} bytes")
        return bytes(data)

    def _count(self, outcome: str) -> None:
        self.metrics.order_lookups.labels(outcome).inc()

    def _observe(self, outcome: str, started: float) -> None:
        self._count(outcome)
        self.metrics.order_lookup_seconds.labels(outcome).observe(time.monotonic() - started)
