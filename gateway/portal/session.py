"""Identifying the order: order id plus the email or phone on it, guesses rate-limited per client.

A match opens a portal session (`{<mid>}:portal:s:<sid>`, 30 minutes) whose unguessable id is
in the page's URL, like the tracking page's token — at once, or after a one-time code when the
merchant asks for one (`gateway/portal/code_pages.py`). Unknown order and wrong contact get the same
answer, so the form cannot be used to learn which order ids exist.
"""

from __future__ import annotations

import json
import re
import secrets

import phonenumbers
from aiohttp import web

from gateway import keys
from gateway.portal.orders import Order
from gateway.portal.view import store_keys

SESSION_TTL_S = 30 * 60
MISSES_PER_MINUTE = 10
# A miss counter outlives its minute a little, so a window edge cannot reset it early.
_MISS_TTL_S = 120
_SESSION = re.compile(r"^[A-Za-z0-9_\-]{20,64}$")


class TooManyTries(Exception):
    """This client failed to identify an order too often in the last minute."""


def _same_phone(given: str, stored: str) -> bool:
    try:
        parsed = phonenumbers.parse(given, "IN")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == stored


def matches(order: Order, contact: str) -> bool:
    contact = contact.strip()
    if "@" in contact:
        return bool(order.customer_email) and secrets.compare_digest(contact.lower(), order.customer_email)
    return bool(order.customer_phone) and _same_phone(contact, order.customer_phone)


async def open_session(request: web.Request, mid: str, order_id: str) -> str:
    """A new session for an order the customer has shown is theirs; its id."""
    sid = secrets.token_urlsafe(24)
    await request.app[keys.REDIS].set(store_keys(request).portal_session(mid, sid), json.dumps({"order_id": order_id}),
                                      ex=SESSION_TTL_S)
    return sid


async def find_order(request: web.Request, mid: str, order_id: str, contact: str) -> Order | None:
    """The order when order id and contact match, None (a counted miss) otherwise.

    Raises: TooManyTries; LookupUnavailable when the merchant's order-lookup webhook gave no answer.
    """
    redis, k = request.app[keys.REDIS], store_keys(request)
    minute = int(request.app[keys.CLOCK].now().timestamp() // 60)
    miss_key = k.portal_misses(mid, request.remote or "unknown", minute)
    if int(await redis.get(miss_key) or 0) >= MISSES_PER_MINUTE:
        raise TooManyTries
    # Pushed orders, else the merchant's lookup webhook; its LookupUnavailable is not a miss.
    order = await request.app[keys.ORDER_LOOKUP].find(mid, order_id.strip()[:40], contact) if order_id.strip() else None
    if order is None or not matches(order, contact):
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(miss_key)
            pipe.expire(miss_key, _MISS_TTL_S)
            await pipe.execute()
        return None
    return order


async def order_of(request: web.Request, mid: str, sid: str) -> Order | None:
    """The order of a live session, None for an unknown or expired one."""
    if not _SESSION.match(sid):
        return None
    raw = await request.app[keys.REDIS].get(store_keys(request).portal_session(mid, sid))
    if raw is None:
        return None
    return await request.app[keys.ORDERS].get(mid, json.loads(raw)["order_id"])
