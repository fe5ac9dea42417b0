"""A local Ekart that speaks the Elite API wire format, driven by a `SandboxControl`.

Run it alone with `python -m carriers.ekart.sandbox --port 8087`; client `SBX01`, user
`sandbox-user`, password `sandbox-password`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import indian_pincode
from aiohttp import web

from carriers.ekart import sandbox_script as script
from carriers.ekart import wire
from carriers.sandbox import CONTROL_KEY, SandboxBooking, SandboxControl, TokenIssuer, new_sandbox_app, read_json
from carriers.sandbox_label import sample_label

SANDBOX_CLIENT = "SBX01"
SANDBOX_USER = "sandbox-user"
SANDBOX_PASSWORD = "sandbox-password"
ISSUER_KEY = web.AppKey("ekart_tokens", TokenIssuer)
_TOKEN_LIFETIME_S = 24 * 3600
_REQUIRED = ("order_number", "invoice_number", "invoice_date", "seller_name", "seller_address", "seller_gst_tin",
             "consignee_name", "consignee_alternate_phone", "products_desc", "category_of_goods", "payment_mode",
             "total_amount", "taxable_amount", "commodity_value", "quantity", "weight", "drop_location",
             "pickup_location")


def _control(request: web.Request) -> SandboxControl:
    return request.app[CONTROL_KEY]


def _error(status: int, code: str, message: str) -> web.Response:
    body = {"statusCode": status, "code": code, "message": message, "description": message, "severity": "ERROR"}
    return web.json_response(body, status=status)


def _is_authorized(request: web.Request) -> bool:
    return request.app[ISSUER_KEY].is_valid(request.headers.get("Authorization", ""))


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def _token(request: web.Request) -> web.Response:
    body = await read_json(request)
    user = f"{request.match_info['client_id']}/{body.get('username', '')}"
    issued = request.app[ISSUER_KEY].issue(user, str(body.get("password", "")))
    if issued is None:
        return _error(401, "UNAUTHORIZED", "Invalid client id, username or password")
    token, lifetime_s = issued
    return web.json_response({"access_token": token, "scope": "core:all", "expires_in": lifetime_s,
                              "token_type": "Bearer"})


def _refusal(shipment: dict[str, Any], control: SandboxControl) -> str:
    """Why Ekart would refuse this shipment with a 400, "" when it takes it."""
    missing = [k for k in _REQUIRED if shipment.get(k) in (None, "")]
    if missing:
        return f"Missing required fields: {', '.join(missing)}"
    if shipment.get("payment_mode") != "Pickup" or not shipment.get("return_reason"):
        return "This sandbox books reverse shipments only: payment_mode Pickup with a return_reason"
    if len(str(shipment["consignee_alternate_phone"])) < 10:
        return "consignee_alternate_phone must have at least 10 characters"
    pin = str((shipment.get("drop_location") or {}).get("pin", ""))
    if not (control.is_serviceable(pin) and indian_pincode.validate(pin)):
        return f"Pincode {pin} is not serviceable for reverse pickup"
    return ""


async def _create(request: web.Request) -> web.Response:
    if not _is_authorized(request):
        return _error(401, "UNAUTHORIZED", "Invalid or expired token")
    shipment = await read_json(request)
    # No await from here on: the duplicate check and the insert happen as one step.
    control = _control(request)
    order = str(shipment.get("order_number", ""))
    control.record_booking_call(order)
    refusal = _refusal(shipment, control)
    if refusal:
        return _error(400, "BAD_REQUEST", refusal)
    existing = control.bookings_for(order)
    if existing:
        return web.json_response({"status": False, "remark": f"Shipment already exists for order number {order}",
                                  "tracking_id": existing[0].awb})
    tracking_id = f"500999A{len(control.bookings) + 1:07d}"
    scenario = control.take_scenario()
    control.bookings[tracking_id] = SandboxBooking(
        reference=order, awb=tracking_id, booked_at=control.clock.now(),
        script=script.lifecycle(scenario, *_locations(shipment)), request=shipment,
        scenario=scenario.name if scenario else "happy")
    return web.json_response({"status": True, "remark": "Successfully created shipment", "tracking_id": tracking_id,
                              "vendor": "EKART", "barcodes": {"wbn": f"FMPR{tracking_id[-7:]}", "order": order}})


def _locations(shipment: dict[str, Any]) -> tuple[str, str, str]:
    customer = str((shipment.get("drop_location") or {}).get("city", "Origin"))
    seller = str((shipment.get("pickup_location") or {}).get("city", "Seller"))
    return f"{customer} Hub", "Bhiwandi Mother Hub", f"{seller} Hub"


async def _cancel(request: web.Request) -> web.Response:
    if not _is_authorized(request):
        return _error(401, "UNAUTHORIZED", "Invalid or expired token")
    tracking_id = request.query.get("tracking_id", "")
    control = _control(request)
    booking = control.bookings.get(tracking_id)
    if booking is None:
        return _error(404, "NOT_FOUND", f"Shipment {tracking_id} not found")
    now = control.clock.now()
    last = booking.last_scan(now)
    status = last.scan["status"] if last else "Order Placed"
    item = {"tracking_id": tracking_id, "status": False}
    if status == script.CANCELLED:
        return web.json_response({"data": [item | {"remark": "Shipment already cancelled"}]})
    if status not in script.CANCELLABLE:
        return web.json_response({"data": [item | {"remark": f"Shipment cannot be cancelled in status {status}"}]})
    booking.interrupt(now, script.cancelled(last.scan["location"] if last else ""))
    return web.json_response({"data": [item | {"status": True, "remark": "Shipment cancelled"}]})


async def _label(request: web.Request) -> web.Response:
    if not _is_authorized(request):
        return _error(401, "UNAUTHORIZED", "Invalid or expired token")
    ids = (await read_json(request)).get("ids")
    if not isinstance(ids, list) or not 0 < len(ids) <= wire.MAX_LABEL_IDS:
        return _error(400, "BAD_REQUEST", f"ids must hold 1 to {wire.MAX_LABEL_IDS} items")
    bookings = [b for b in (_control(request).bookings.get(str(i)) for i in ids) if b is not None]
    if not bookings:
        return _error(404, "NOT_FOUND", "No shipments found for the given ids")
    return web.Response(body=_label_pdf(bookings), content_type="application/octet-stream")


def _label_pdf(bookings: list[SandboxBooking]) -> bytes:
    return sample_label("Ekart", [(b.awb, b.reference) for b in bookings])


async def _track(request: web.Request) -> web.Response:
    control = _control(request)
    booking = control.bookings.get(request.match_info["id"])
    if booking is None:
        return _error(404, "NOT_FOUND", f"No shipment found for id {request.match_info['id']}")
    return web.json_response(track_json(booking, control.clock.now()))


def track_json(booking: SandboxBooking, now: datetime) -> dict[str, Any]:
    """The `/api/v1/track/{id}` answer for a booking as of `now`."""
    details = [_detail(at, step.scan) for at, step in booking.scans(now)]
    last = details[-1]
    picked = [d["ctime"] for d in details if d["status"] == "Picked Up"]
    attempts = sum(d["status"] == "Out for Pickup" for d in details)
    track: dict[str, Any] = dict(last, pickupTime=picked[0] if picked else 0, attempts=attempts, details=details)
    if last["status"] in script.NDR_STATUSES:
        track["ndrActions"] = ["Re-Attempt", "RTO"]
    edd = booking.booked_at + timedelta(days=4)
    return {"_id": booking.awb, "track": track, "edd": _ms(edd), "order_number": booking.reference}


def _detail(at: datetime, scan: Mapping[str, str]) -> dict[str, Any]:
    detail: dict[str, Any] = {"status": scan["status"], "ctime": _ms(at), "desc": scan["desc"],
                              "location": scan["location"]}
    if scan.get("ndrStatus"):
        detail["ndrStatus"] = scan["ndrStatus"]
    return detail


async def _ndr(request: web.Request) -> web.Response:
    if not _is_authorized(request):
        return _error(401, "UNAUTHORIZED", "Invalid or expired token")
    body = await read_json(request)
    control = _control(request)
    tracking_id = str(body.get("wbn", ""))
    booking = control.bookings.get(tracking_id)
    answer = {"status": False, "tracking_id": tracking_id}
    if booking is None or body.get("action") != "Re-Attempt":
        return web.json_response(answer | {"remark": "Only Re-Attempt on a known shipment is supported here"})
    now = control.clock.now()
    last = booking.last_scan(now)
    if last is None or last.scan["status"] not in script.NDR_STATUSES:
        return web.json_response(answer | {"remark": "NDR action not allowed in the current status"})
    when = wire.from_epoch_ms(body.get("date"))
    days_ahead = (when.date() - now.astimezone(wire.IST).date()).days
    if not 1 <= days_ahead <= 7:
        return web.json_response(answer | {"remark": "Re-Attempt date must be within 7 days, excluding today"})
    booking.restart(now, script.reattempt(*_locations(booking.request), (when - now).total_seconds() / 3600))
    return web.json_response(answer | {"status": True, "remark": "Re-Attempt requested"})


async def _serviceability(request: web.Request) -> web.Response:
    if not _is_authorized(request):
        return _error(401, "UNAUTHORIZED", "Invalid or expired token")
    pin = request.match_info["pincode"]
    if not (_control(request).is_serviceable(pin) and pin.isdigit() and indian_pincode.validate(pin)):
        return web.json_response({"status": False, "pincode": pin, "remark": "Pincode not serviceable"})
    details = {"cod": True, "max_cod_amount": 25000, "forward_pickup": True, "forward_drop": True,
               "reverse_pickup": True, "reverse_drop": True, "city": "Sandbox City", "state": "KA"}
    return web.json_response({"status": True, "pincode": int(pin), "remark": "", "details": details})


def make_app(control: SandboxControl | None = None) -> web.Application:
    """The Ekart sandbox app; its control is `app[carriers.sandbox.CONTROL_KEY]`."""
    app = new_sandbox_app(control)
    app[ISSUER_KEY] = TokenIssuer(app[CONTROL_KEY], f"{SANDBOX_CLIENT}/{SANDBOX_USER}", SANDBOX_PASSWORD,
                                  lifetime_s=_TOKEN_LIFETIME_S)
    app.router.add_post(wire.TOKEN_PATH, _token)
    app.router.add_put(wire.CREATE_PATH, _create)
    app.router.add_delete(wire.CANCEL_PATH, _cancel)
    app.router.add_post(wire.LABEL_PATH, _label)
    app.router.add_get(wire.TRACK_PATH, _track)
    app.router.add_post(wire.NDR_PATH, _ndr)
    app.router.add_get(wire.SERVICEABILITY_PATH, _serviceability)
    return app


def adapter_settings(base_url: str) -> dict[str, Any]:
    """Settings that point an EkartAdapter at this sandbox (contract suite and demo)."""
    return {"base_url": base_url, "client_id": SANDBOX_CLIENT, "username": SANDBOX_USER,
            "password": SANDBOX_PASSWORD, "seller_name": "Backhaul Demo", "seller_address": "Plot 5, Bhiwandi",
            "seller_gst_tin": "27ABCDE1234F1Z5"}


def webhook_example(control: SandboxControl, awb: str, secret: str) -> tuple[dict[str, str], bytes]:
    """The `track_updated` push Ekart would send for the latest status of `awb`, HMAC-signed."""
    booking = control.bookings[awb]
    track = track_json(booking, control.clock.now())["track"]
    body: dict[str, Any] = {"ctime": track["ctime"], "status": track["status"], "location": track["location"],
                            "desc": track["desc"], "attempts": str(track["attempts"]),
                            "pickupTime": track["pickupTime"], "wbn": f"FMPR{awb[-7:]}", "id": awb,
                            "orderNumber": booking.reference, "edd": _ms(booking.booked_at + timedelta(days=4))}
    if track.get("ndrStatus"):
        body["ndrStatus"] = track["ndrStatus"]
    raw = json.dumps(body).encode()
    return {wire.SIGNATURE_HEADER: wire.signature(raw, secret), "Content-Type": "application/json"}, raw


def run(host: str = "127.0.0.1", port: int = 8087, control: SandboxControl | None = None) -> None:
    """Serve the sandbox until interrupted."""
    web.run_app(make_app(control), host=host, port=port)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the Ekart sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8087)
    args = parser.parse_args()
    run(args.host, args.port)
