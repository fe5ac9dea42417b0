"""`POST /r/{merchant}/s/{sid}/submit`: the customer's choices become a return, through the booker.

Everything is checked before anything is written: the form token and origin, every line
against the policy and what is left, reasons, resolutions, photos, the address and the date.
Then the units are reserved on the order (all or none), the return is created by the same
`Booker.create` as `POST /v1/returns` (policy, allocation, booking), and the photos are
stored with it. If the booker refuses, the reservation is given back: nothing half-written.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from redis.exceptions import RedisError

from carriers.base import Address, Contact, Item, Parcel
from gateway import keys
from gateway.analytics.counters import Batch, add_lines, day_of
from gateway.models import Fulfilment, LineChoice, ReturnCreate
from gateway.pages import forms
from gateway.portal import config as portal_config
from gateway.portal import confirm, slots
from gateway.portal.eligibility import Eligibility, eligibility
from gateway.portal.orders import Order
from gateway.portal.pages import _formatter
from gateway.portal.photos import PhotoRefused, new_photo_id, reencode
from gateway.portal.session import order_of
from gateway.portal.uploads import read_form
from gateway.portal.view import PortalVisit, base_context, render, store_keys, use_token, visit_of
from gateway.problems import Problem

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
PROBLEM_ERRORS = {"policy-violation": "policy", "not-serviceable": "not_serviceable",
                  "drop-off-unavailable": "drop_off"}


class Refused(Exception):
    """The customer's input cannot make a return; `code` names the message the page shows."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Choices:
    lines: list[LineChoice] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    weight_g: int = 0
    photos: dict[str, bytes] = field(default_factory=dict)

    @property
    def wanted(self) -> dict[str, int]:
        return {line.sku: line.quantity for line in self.lines}


def _line(n: int, e: Eligibility, fields: dict[str, str], files: dict[str, list[bytes]],
          reasons: set[str], out: Choices) -> None:
    try:
        quantity = int(fields.get(f"qty_{n}", "0") or "0")
    except ValueError as exc:
        raise Refused("quantity") from exc
    if quantity == 0:
        return
    if not e.is_eligible:
        raise Refused("window" if e.why == "window" else "policy")
    if not 0 < quantity <= e.left:
        raise Refused("quantity")
    reason, resolution = fields.get(f"reason_{n}", ""), fields.get(f"res_{n}", e.resolutions[0])
    if reason not in reasons:
        raise Refused("reason")
    if resolution not in e.resolutions:
        raise Refused("resolution")
    exchange_for = fields.get(f"exch_{n}", "") if resolution == "exchange" else ""
    if resolution == "exchange" and exchange_for not in e.item.variants:
        raise Refused("exchange")
    out.lines.append(LineChoice(sku=e.item.sku, reason=reason, resolution=resolution,
                                exchange_for=exchange_for, comment=fields.get(f"comment_{n}", "")[:500],
                                photos=_photos(files.get(f"photo_{n}", []), out), quantity=quantity,
                                category=e.item.category))
    if resolution != "keep":
        out.items.append(Item(sku=e.item.sku, name=e.item.name, quantity=quantity, price=e.item.price,
                              category=e.item.category))
        out.weight_g += e.item.weight_g * quantity


def _photos(uploads: list[bytes], out: Choices) -> list[str]:
    ids = []
    for data in uploads:
        pid = new_photo_id()
        try:
            out.photos[pid] = reencode(data)
        except PhotoRefused as exc:
            raise Refused("photo_big" if exc.why == "too_big" else "photo_type") from exc
        ids.append(pid)
    return ids


def choices_of(request: web.Request, visit: PortalVisit, order: Order, returned: dict[str, int],
               fields: dict[str, str], files: dict[str, list[bytes]]) -> Choices:
    """The lines the customer chose, checked. Raises: Refused."""
    settings = request.app[keys.SETTINGS]
    config = portal_config.for_merchant(settings.config_dir, visit.merchant.id, visit.merchant.name)
    policy = request.app[keys.RULES].policies.for_merchant(visit.merchant.id, visit.merchant.name)
    out, reasons = Choices(), {r.code for r in config.reasons}
    now = request.app[keys.CLOCK].now()
    for n, e in enumerate(eligibility(order, returned, policy, config, now)):
        _line(n, e, fields, files, reasons, out)
    if not out.lines:
        raise Refused("nothing")
    return out


def body_of(request: web.Request, visit: PortalVisit, order: Order, chosen: Choices,
            fields: dict[str, str], offer: slots.Offer) -> ReturnCreate:
    """The same body a merchant would POST to /v1/returns; the date one the page offered. Raises: Refused."""
    country = order.address.country if order.address else "IN"
    try:
        address = Address(line1=fields.get("line1", ""), line2=fields.get("line2", ""), city=fields.get("city", ""),
                          state=fields.get("state", ""), postcode=fields.get("postcode", ""), country=country)
        customer = Contact(name=order.customer_name, email=order.customer_email or None,
                           phone=fields.get("phone", "") or order.customer_phone, phone_region=country)
    except ValidationError as exc:
        raise Refused("address") from exc
    day, fulfilment = _when(fields.get("date", ""), offer)
    return ReturnCreate(order_id=order.order_id, customer=customer, pickup_address=address, items=chosen.items,
                        parcel=Parcel(weight_g=max(1, min(chosen.weight_g, 70_000))), pickup_date=day,
                        fulfilment=fulfilment,
                        reason=chosen.lines[0].reason, delivered_at=order.delivered_at, order_date=order.order_date,
                        customer_tier=order.customer_tier, lines=chosen.lines, metadata={"source": "portal"})


def _when(choice: str, offer: slots.Offer) -> tuple[date | None, Fulfilment]:
    """The pickup day, or drop-off, the customer chose among those the page offered. Raises: Refused."""
    if choice == slots.DROP_OFF:
        if not offer.can_drop_off:
            raise Refused("date")
        return None, "drop_off"
    try:
        day = date.fromisoformat(choice)
    except ValueError as exc:
        raise Refused("date") from exc
    if day not in offer.days:
        raise Refused("date")
    return day, "pickup"


async def _create(request: web.Request, visit: PortalVisit, order: Order, chosen: Choices,
                  fields: dict[str, str]) -> str | None:
    """The new return's tracking token (None when every line is kept). Raises: Refused."""
    offer = await slots.offer(request, visit.merchant, order, _formatter(visit, order)) if chosen.items else None
    body = body_of(request, visit, order, chosen, fields, offer) if offer is not None else None
    mid, orders = visit.merchant.id, request.app[keys.ORDERS]
    if not await orders.reserve(mid, order, chosen.wanted):
        raise Refused("quantity")
    if body is None:
        batch = Batch()
        add_lines(batch, mid, day_of(request.app[keys.CLOCK].now()),
                  [(c.sku, c.category, c.quantity, c) for c in chosen.lines], "refund")
        await request.app[keys.ANALYTICS].flush(batch)
        return None
    try:
        ret = await request.app[keys.BOOKER].create(visit.merchant, body)
    except Problem as exc:
        await orders.release(mid, order.order_id, chosen.wanted)
        raise Refused(PROBLEM_ERRORS.get(exc.slug, "booking")) from exc
    if chosen.photos:
        # The client decodes replies as text, so the JPEG bytes are kept base64-encoded.
        photos = {pid: base64.b64encode(data).decode() for pid, data in chosen.photos.items()}
        await request.app[keys.REDIS].hset(store_keys(request).photos(mid, ret.id), mapping=photos)
    return ret.tracking_token


@routes.post("/r/{merchant}/s/{sid}/submit")
async def submit(request: web.Request) -> web.Response:
    visit = await visit_of(request)
    if isinstance(visit, web.Response):
        return visit
    sid = request.match_info["sid"]
    order = await order_of(request, visit.merchant.id, sid)
    if order is None:
        raise web.HTTPSeeOther(visit.url(error="expired"))
    try:
        fields, files = await read_form(request)
        visit = PortalVisit(visit.merchant, fields.get("lang") or visit.lang, visit.base)
        await use_token(request, visit, sid, "submit", fields.get("form_token", ""))
        returned = await request.app[keys.ORDERS].returned(visit.merchant.id, order.order_id)
        token = await _create(request, visit, order, choices_of(request, visit, order, returned, fields, files),
                              fields)
    except PhotoRefused as exc:
        code = "photo_big" if exc.why == "too_big" else "photo_type"
        raise web.HTTPSeeOther(visit.url(f"/s/{sid}", error=code)) from exc
    except forms.FormRefused as exc:
        raise web.HTTPSeeOther(visit.url(f"/s/{sid}", error="form")) from exc
    except Refused as exc:
        raise web.HTTPSeeOther(visit.url(f"/s/{sid}", error=exc.code)) from exc
    if token is None:
        context: dict[str, Any] = {**base_context(visit), "order": order}
        return render(visit, "portal/kept.html", context)
    await _confirm_later(request, token, visit.lang)
    raise web.HTTPSeeOther(f"{visit.base}/t/{token}?lang={visit.lang}")


async def _confirm_later(request: web.Request, token: str, lang: str) -> None:
    """Queue the customer's confirmation (the ops worker sends it); the return stands even if this fails."""
    try:
        await confirm.enqueue(request.app[keys.REDIS], store_keys(request), token, lang,
                              request.app[keys.CLOCK].now().timestamp())
    except RedisError:
        log.exception("return confirmation not queued")
