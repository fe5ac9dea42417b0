"""What the return page offers for getting the parcel back: pickup dates, and drop-off where it can.

The page previews the allocation for the order's address with the booker's own `decide` (the
rules' ranking plus the live serviceability checks, nothing booked, nothing written) and offers
the pickup days of the carrier ranked first, from its pickup calendar
(`config/pickup_calendar.yaml`), in the pickup's time zone and after its cut-off. Drop-off is
offered when that carrier books drop-off labels and the merchant's portal config allows it.

Submit calls `offer` again with the same order, so the date is checked against the very list the
page showed. The booking may still go to another carrier (the customer edited the postcode, the
parcel weighs more than the whole order's preview, a failover): the booker then asks that carrier
for the chosen day if it serves it, else for its next valid day (`gateway/fulfilment.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from aiohttp import web

from carriers.base import Contact, Item, Parcel
from gateway import keys
from gateway.fulfilment import offers_drop_off
from gateway.models import Merchant, ReturnCreate
from gateway.pages.i18n import Formatter
from gateway.portal import config as portal_config
from gateway.portal.orders import Order
from gateway.problems import Problem

DROP_OFF = "drop_off"  # the value of the page's `date` radio that chooses drop-off


@dataclass(frozen=True)
class Offer:
    """The carrier the return would get (None when nobody serves the address) and what it can do."""

    carrier: str | None
    days: list[date]
    can_drop_off: bool


def preview_body(order: Order) -> ReturnCreate | None:
    """The whole order as a return from its address: enough to rank carriers, never booked."""
    if order.address is None:
        return None
    items = [Item.model_construct(sku=i.sku, name=i.name, quantity=i.quantity, price=i.price, category=i.category,
                                  qc=None) for i in order.items]
    weight_g = sum(i.weight_g * i.quantity for i in order.items)
    # Built without validation: an order identified by email may have no phone, which the ranking never reads.
    customer = Contact.model_construct(name=order.customer_name, phone=order.customer_phone)
    return ReturnCreate.model_construct(
        order_id=order.order_id, customer=customer, pickup_address=order.address, drop_address=None, drop_contact=None,
        items=items, parcel=Parcel(weight_g=max(1, min(weight_g, 70_000))), carrier=None, customer_tier=None,
        pickup_date=None, fulfilment="pickup")


async def allocated(request: web.Request, merchant: Merchant, body: ReturnCreate) -> str | None:
    """The carrier the booker would try first for `body`, None when no carrier serves it."""
    booker = request.app[keys.BOOKER]
    try:
        ret = booker.new_return(merchant, body)
    except Problem:
        return None  # no return address for this merchant: nothing can be booked anyway
    decision = await booker.decide(merchant, ret, needs_qc=False)
    return decision.ranked[0].carrier if decision.ranked else None


async def offer(request: web.Request, merchant: Merchant, order: Order, fmt: Formatter) -> Offer:
    """The pickup days and drop-off the return page offers for `order`, as of the app clock."""
    body = preview_body(order)
    carrier = await allocated(request, merchant, body) if body is not None else None
    country = order.address.country if order.address else "IN"
    now_local = request.app[keys.CLOCK].now().astimezone(fmt.tz)
    days = request.app[keys.RULES].calendar.days(carrier, now_local, country)
    config = portal_config.for_merchant(request.app[keys.SETTINGS].config_dir, merchant.id, merchant.name)
    can_drop_off = config.drop_off and offers_drop_off(request.app[keys.CARRIERS].adapters, carrier)
    return Offer(carrier, days, can_drop_off)
