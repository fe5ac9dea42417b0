"""The customer's tracking page, `/t/{token}`: plain server-rendered HTML."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from gateway import keys
from normalizers.machine import ordered
from normalizers.taxonomy import Status

routes = web.RouteTableDef()

HEADLINES: dict[Status, str] = {
    Status.CREATED: "We have your return request",
    Status.PICKUP_SCHEDULED: "Your pickup is scheduled",
    Status.OUT_FOR_PICKUP: "The courier is on the way to pick up your return",
    Status.PICKUP_FAILED: "The pickup did not happen",
    Status.PICKED_UP: "Your return has been picked up",
    Status.IN_TRANSIT: "Your return is on its way",
    Status.OUT_FOR_DELIVERY: "Your return is out for delivery to the store",
    Status.DELIVERED: "Your return has reached the store",
    Status.DELIVERY_FAILED: "Delivery to the store was delayed",
    Status.ON_HOLD: "Your return is on hold",
    Status.RETURNED_TO_SENDER: "Your return was sent back to you",
    Status.CANCELLED: "This return was cancelled",
    Status.EXCEPTION: "There is a problem with your return",
    Status.UNKNOWN: "We are checking on your return",
}


def _mask_phone(phone: str) -> str:
    return "•" * max(0, len(phone) - 4) + phone[-4:]


@routes.get("/t/{token}")
@aiohttp_jinja2.template("tracking.html")
async def tracking_page(request: web.Request) -> dict[str, Any]:
    token = request.match_info["token"]
    store = request.app[keys.RETURNS]
    ret = await store.by_token(token) if 16 <= len(token) <= 64 else None
    if ret is None:
        raise web.HTTPNotFound(text="No return with this link. Check the link in your message.")
    merchant = await request.app[keys.MERCHANTS].get(ret.merchant_id)
    timeline = list(reversed(ordered(await store.events(ret.merchant_id, ret.id))))
    state = ret.state
    return {
        "ret": ret,
        "merchant": merchant,
        "state": state,
        "headline": HEADLINES[state.status],
        "timeline": timeline,
        "carrier_name": request.app[keys.CARRIERS].get(ret.shipment.carrier).name if ret.shipment else None,
        "phone": _mask_phone(ret.request.customer.phone),
        "is_failed": state.status is Status.PICKUP_FAILED,
    }
