"""A local Acme Parcel: its wire routes on `new_sandbox_app`, plus a lifecycle script driven by the clock."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from aiohttp import web

from carriers.sandbox import CONTROL_KEY, SandboxBooking, SandboxControl, Scenario, Step, new_sandbox_app, read_json

from . import wire

API_KEY = "sandbox-acme-key"
PRE_PICKUP = frozenset({"BKD", "SCH", "OFP", "NP"})


def _scan(code: str, description: str, location: str) -> dict[str, str]:
    return {"code": code, "description": description, "location": location}


def lifecycle(scenario: Scenario | None, origin: str) -> list[Step]:
    """Booked and scheduled, one pickup attempt (a failed one first for `pickup_failed`), then to the merchant."""
    steps = [(0, _scan("BKD", "Booked", origin)), (1, _scan("SCH", "Pickup scheduled", origin))]
    start = 24
    if scenario is not None and scenario.name == "pickup_failed":
        steps += [(24, _scan("OFP", "Out for pickup", origin)), (26, _scan("NP", "Customer not available", origin))]
        start = 48
    steps += [(start, _scan("OFP", "Out for pickup", origin)), (start + 6, _scan("PKD", "Picked up", origin)),
              (start + 24, _scan("ITR", "In transit", "Acme Hub")),
              (start + 28, _scan("OFD", "Out for delivery", "Warehouse")),
              (start + 32, _scan("DLV", "Delivered to the merchant", "Warehouse"))]
    return [Step(timedelta(hours=h), scan) for h, scan in steps]


def _authorize(request: web.Request) -> None:
    if request.headers.get("Authorization") != f"Bearer {API_KEY}":
        raise web.HTTPUnauthorized(text='{"error": "bad key"}', content_type="application/json")


async def _book(request: web.Request) -> web.Response:
    _authorize(request)
    body, control = await read_json(request), request.app[CONTROL_KEY]
    reference = str(body.get("reference", ""))
    control.record_booking_call(reference)
    # No await from here on: the duplicate check and the insert are one step.
    earlier = control.bookings_for(reference)
    if earlier:
        return web.json_response({"awb": earlier[0].awb, "reference": reference})
    pickup = body.get("pickup") or {}
    if not reference or not control.is_serviceable(str(pickup.get("postcode", ""))):
        return web.json_response({"error": "not serviceable" if reference else "reference missing"}, status=422)
    awb, scenario = f"AC{len(control.bookings) + 1:08d}", control.take_scenario()
    control.bookings[awb] = SandboxBooking(reference, awb, control.clock.now(),
                                           lifecycle(scenario, str(pickup.get("address", ""))[-30:]), body,
                                           scenario.name if scenario else "happy")
    return web.json_response({"awb": awb, "reference": reference}, status=201)


async def _cancel(request: web.Request) -> web.Response:
    _authorize(request)
    control = request.app[CONTROL_KEY]
    booking = control.bookings.get(request.match_info["awb"])
    if booking is None:
        return web.json_response({"error": "unknown awb"}, status=404)
    now, last = control.clock.now(), booking.last_scan(control.clock.now())
    if last is not None and last.scan["code"] == "CAN":
        return web.json_response({"status": "cancelled"})
    if last is not None and last.scan["code"] not in PRE_PICKUP:
        return web.json_response({"error": "already picked up"}, status=409)
    booking.interrupt(now, _scan("CAN", "Cancelled by the shipper", "Acme"))
    return web.json_response({"status": "cancelled"})


def shipment(control: SandboxControl, awb: str) -> dict[str, Any]:
    """One shipment as tracking and pushes write it."""
    booking = control.bookings[awb]
    events = [dict(step.scan, at=at.isoformat()) for at, step in booking.scans(control.clock.now())]
    return {"awb": awb, "events": events}


async def _track(request: web.Request) -> web.Response:
    _authorize(request)
    control = request.app[CONTROL_KEY]
    awbs = [a for a in request.query.get("awb", "").split(",") if a in control.bookings]
    return web.json_response({"shipments": [shipment(control, a) for a in awbs]})


def make_app(control: SandboxControl | None = None) -> web.Application:
    """The Acme sandbox app; its control is `app[carriers.sandbox.CONTROL_KEY]`."""
    app = new_sandbox_app(control)
    app.router.add_post(wire.PICKUPS_PATH, _book)
    app.router.add_post(wire.PICKUPS_PATH + "/{awb}/cancel", _cancel)
    app.router.add_get(wire.TRACKING_PATH, _track)
    return app


def adapter_settings(base_url: str) -> dict[str, Any]:
    """Settings that point an AcmeAdapter at this sandbox."""
    return {"base_url": base_url, "api_key": API_KEY}


def webhook_example(control: SandboxControl, awb: str, secret: str) -> tuple[dict[str, str], bytes]:
    """The push Acme would send for `awb` now, signed with `secret`."""
    body = json.dumps(shipment(control, awb)).encode()
    return {"Content-Type": "application/json", wire.SIGNATURE_HEADER: wire.signature(secret, body)}, body
