"""A local Xpressbees that speaks the enterprise (XB) wire format, driven by a `SandboxControl`.

One app serves every XB host (login, reverse manifest, summary tracking, RTO-notify), since
their paths do not overlap. Run it alone with `python -m carriers.xpressbees.sandbox --port 8084`.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

import indian_pincode
from aiohttp import web

from carriers.sandbox import CONTROL_KEY, SandboxBooking, SandboxControl, TokenIssuer, new_sandbox_app, read_json
from carriers.xpressbees import sandbox_script as script
from carriers.xpressbees import wire

USERNAME = "sandbox@backhaul.test"
PASSWORD = "sandbox-password"
SECRET_KEY = "sandbox-secret-key"
XB_KEY = "sandbox-xbkey"
BUSINESS_ACCOUNT = "BACKHAUL REVERSE"
MAX_TRACK_BATCH = 20
TOKEN_LIFETIME_S = 23 * 3600
ISSUER_KEY = web.AppKey("xpressbees_tokens", TokenIssuer)


def _control(request: web.Request) -> SandboxControl:
    return request.app[CONTROL_KEY]


def _answer(code: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"ReturnCode": code, "ReturnMessage": message, **extra})


async def _token(request: web.Request) -> web.Response:
    body = await read_json(request)
    issued = request.app[ISSUER_KEY].issue(str(body.get("username", "")),
                                           f"{body.get('password', '')}|{body.get('secretkey', '')}")
    if issued is None:
        raise web.HTTPUnauthorized(text=json.dumps({"error": "Invalid username, password or secret key"}),
                                   content_type="application/json")
    return web.json_response({"token": issued[0]})


def _authorize(request: web.Request) -> None:
    if not request.app[ISSUER_KEY].is_valid(f"Bearer {request.headers.get('token', '')}"):
        raise web.HTTPUnauthorized(text=json.dumps({"message": "Unauthorized: token invalid or expired"}),
                                   content_type="application/json")
    if request.headers.get("versionnumber") != wire.VERSION_NUMBER:
        raise web.HTTPBadRequest(text=json.dumps({"message": "versionnumber header missing"}),
                                 content_type="application/json")


def _primary(details: Any, key: str) -> dict[str, Any]:
    """The first entry of Addresses / ContactDetails, {} when absent."""
    entries = details.get(key) if isinstance(details, dict) else None
    first = entries[0] if isinstance(entries, list) and entries else None
    return first if isinstance(first, dict) else {}


def _refusal(body: dict[str, Any], control: SandboxControl) -> tuple[int, str]:
    """Why Xpressbees would refuse this manifest, (100, "") when it books it."""
    order = str(body.get("OrderNo", ""))
    if not order:
        return 104, "OrderNo is mandatory"
    if body.get("BusinessAccountName") != BUSINESS_ACCOUNT:
        return 105, "Invalid Business Account Name"
    pickup = _primary(body.get("PickupDetails"), "Addresses")
    phone = str(_primary(body.get("PickupDetails"), "ContactDetails").get("PhoneNo", ""))
    if not (phone.isdigit() and len(phone) == 10):
        return 106, "Invalid pickup PhoneNo"
    pin = str(pickup.get("PinCode", ""))
    if not (control.is_serviceable(pin) and indian_pincode.validate(pin)):
        return 107, f"Pickup PinCode {pin} is not serviceable"
    return 100, ""


async def _manifest(request: web.Request) -> web.Response:
    _authorize(request)
    body = await read_json(request)
    control = _control(request)
    # No await from here on: the duplicate check and the insert happen as one step.
    order = str(body.get("OrderNo", ""))
    control.record_booking_call(order)
    earlier = control.bookings_for(order)
    if earlier:
        return _answer(101, "OrderNo already exists", AWBNo=earlier[0].awb)
    code, message = _refusal(body, control)
    if code != 100:
        return _answer(code, message, AWBNo="")
    awb = f"13{len(control.bookings) + 1:014d}"
    scenario = control.take_scenario()
    control.bookings[awb] = SandboxBooking(
        reference=order, awb=awb, booked_at=control.clock.now(),
        script=script.lifecycle(scenario, *_locations(body)), request=body,
        scenario=scenario.name if scenario else "happy")
    return _answer(100, "Successful", AWBNo=awb)


def _locations(body: dict[str, Any]) -> tuple[str, str, str]:
    pickup = _primary(body.get("PickupDetails"), "Addresses")
    drop = _primary(body.get("DropDetails"), "Addresses")
    return (f"{pickup.get('City', 'Origin')}_RVP, {pickup.get('City', '')}", "Bhiwandi_Hub, Bhiwandi",
            f"{drop.get('City', 'Client')}_DC, {drop.get('City', '')}")


def _summary(booking: SandboxBooking, now: datetime) -> list[dict[str, str]]:
    """The scans so far, newest first, with XB's split date and time."""
    scans = []
    for at, step in reversed(booking.scans(now)):
        local = at.astimezone(wire.IST)
        scans.append(dict(step.scan, StatusDate=local.strftime("%d-%m-%Y"), StatusTime=local.strftime("%H%M")))
    return scans


async def _track(request: web.Request) -> web.Response:
    body = await read_json(request)
    awbs = [a.strip() for a in str(body.get("AWBNo", "")).split(",") if a.strip()]
    if len(awbs) > MAX_TRACK_BATCH:
        raise web.HTTPBadRequest(text=f"At most {MAX_TRACK_BATCH} AWBs per request")
    if body.get("XBkey") != XB_KEY:
        return web.json_response([{"AWBNo": a, "AuthKey": "Invalid", "ReturnMessage": "Invalid XBkey",
                                   "ShipmentSummary": None} for a in awbs])
    control = _control(request)
    now = control.clock.now()
    entries: list[dict[str, Any]] = []
    for awb in awbs:
        booking = control.bookings.get(awb)
        if booking is None:
            entries.append({"AWBNo": awb, "AuthKey": "Valid", "ReturnMessage": "Details not found",
                            "ShipmentSummary": None})
        else:
            entries.append({"AWBNo": awb, "AuthKey": "Valid", "ReturnMessage": "Successful",
                            "ShipmentSummary": _summary(booking, now)})
    return web.json_response(entries)


async def _cancel(request: web.Request) -> web.Response:
    body = await read_json(request)
    if body.get("XBkey") != XB_KEY:
        return _answer(103, "Invalid XBkey")
    control = _control(request)
    awb = str(body.get("AWBNumber", ""))
    booking = control.bookings.get(awb)
    if booking is None:
        return _answer(102, "Invalid AWBNumber", AWBNumber=awb)
    now = control.clock.now()
    last = booking.last_scan(now)
    code = last.scan["StatusCode"] if last else "DRC"
    if code == script.CANCEL_CODE:
        return _answer(108, "AWB already cancelled", AWBNumber=awb)
    if code not in script.CANCELLABLE:
        return _answer(109, "Shipment is picked up and cannot be cancelled", AWBNumber=awb)
    booking.interrupt(now, script.cancelled(last.scan["Location"] if last else ""))
    return _answer(100, "Successful", AWBNumber=awb)


def make_app(control: SandboxControl | None = None) -> web.Application:
    """The Xpressbees sandbox app; its control is `app[carriers.sandbox.CONTROL_KEY]`."""
    app = new_sandbox_app(control)
    app[ISSUER_KEY] = TokenIssuer(app[CONTROL_KEY], USERNAME, f"{PASSWORD}|{SECRET_KEY}", TOKEN_LIFETIME_S)
    app.router.add_post(wire.TOKEN_PATH, _token)
    app.router.add_post(wire.MANIFEST_PATH, _manifest)
    app.router.add_post(wire.TRACK_PATH, _track)
    app.router.add_post(wire.CANCEL_PATH, _cancel)
    return app


def adapter_settings(base_url: str) -> dict[str, Any]:
    """Settings that point an XpressbeesAdapter's every host at this sandbox."""
    return {"base_url": base_url, "auth_url": base_url, "client_api_url": base_url, "username": USERNAME,
            "password": PASSWORD, "secret_key": SECRET_KEY, "xb_key": XB_KEY,
            "business_account_name": BUSINESS_ACCOUNT}


def run(host: str = "127.0.0.1", port: int = 8084, control: SandboxControl | None = None) -> None:
    """Serve the sandbox until interrupted."""
    web.run_app(make_app(control), host=host, port=port)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the Xpressbees sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8084)
    args = parser.parse_args()
    run(args.host, args.port)
