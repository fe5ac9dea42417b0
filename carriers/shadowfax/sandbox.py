"""A local Shadowfax that speaks the Unified API wire format, driven by a `SandboxControl`.

Run it alone with `python -m carriers.shadowfax.sandbox --port 8085`; the token is `sandbox-token`.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

import indian_pincode
from aiohttp import web

from carriers.sandbox import CONTROL_KEY, SandboxBooking, SandboxControl, new_sandbox_app, read_json
from carriers.shadowfax import sandbox_script as script
from carriers.shadowfax import wire

SANDBOX_TOKEN = "sandbox-token"
SELLER_CODE = "BACKHAUL-DEMO"
CLIENT_ID = 2245
MAX_TRACK_BATCH = 50
TOKEN_KEY = web.AppKey("shadowfax_token", str)


def _authorize(request: web.Request) -> None:
    if request.headers.get("Authorization", "") != f"Token {request.app[TOKEN_KEY]}":
        raise web.HTTPUnauthorized(text=json.dumps({"detail": "Invalid token."}), content_type="application/json")


def _control(request: web.Request) -> SandboxControl:
    return request.app[CONTROL_KEY]


def _failure(errors: Any, status: int = 200, **extra: Any) -> web.Response:
    # Shadowfax answers business failures with HTTP 200 and this envelope.
    return web.json_response({"message": "Failure", "errors": errors, **extra}, status=status)


def _refusal(body: dict[str, Any], control: SandboxControl) -> Any:
    """Why Shadowfax would refuse this request (its `errors`), None when it books it."""
    customer, seller = body.get("address_attributes"), body.get("seller_attributes")
    if not isinstance(customer, dict) or not isinstance(seller, dict):
        return {"address_attributes": ["This field is required."]}
    phone = str(customer.get("phone_number", ""))
    if not (phone.isdigit() and len(phone) == 10):
        return {"address_attributes": {"phone_number": ["Enter a valid phone number."]}}
    if seller.get("unique_code") != SELLER_CODE:
        return [f"Seller with unique_code {seller.get('unique_code')!r} does not exist"]
    pin = str(customer["pincode"])
    if not (control.is_serviceable(pin) and indian_pincode.validate(pin)):
        return [f"Pincode {pin} is not serviceable for {wire.PICKUP_SERVICE}"]
    return None


async def _create(request: web.Request) -> web.Response:
    _authorize(request)
    body = await read_json(request)
    pins = [(body.get(k) or {}).get("pincode") for k in ("address_attributes", "seller_attributes")]
    if not all(isinstance(p, int) for p in pins):
        return _failure({"pincode": ["A valid integer is required."]}, status=400)
    control = _control(request)
    # No await from here on: the duplicate check and the insert happen as one step.
    reference = str(body.get("client_order_number", ""))
    control.record_booking_call(reference)
    earlier = control.bookings_for(reference)
    if earlier:
        return _failure(f"Request with client_order_number {reference} already exists", awb_number=earlier[0].awb)
    refusal = _refusal(body, control) if reference else {"client_order_number": ["This field is required."]}
    if refusal is not None:
        return _failure(refusal)
    awb = f"R{len(control.bookings) + 1:010d}SFX"
    scenario = control.take_scenario()
    control.bookings[awb] = SandboxBooking(
        reference=reference, awb=awb, booked_at=control.clock.now(),
        script=script.lifecycle(scenario, *_locations(body)), request=body,
        scenario=scenario.name if scenario else "happy")
    return web.json_response({"message": "Success", "awb_number": awb, "client_request_id": reference})


def _locations(body: dict[str, Any]) -> tuple[str, str, str]:
    return (f"{body['address_attributes'].get('city', 'Origin')} RVP DC", "Bhiwandi Reverse Hub",
            f"{body['seller_attributes'].get('city', 'Seller')} DC")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _shipment(booking: SandboxBooking, now: datetime) -> dict[str, Any]:
    details = [dict(step.scan, created=_utc(at), awb_number=booking.awb) for at, step in booking.scans(now)]
    last = details[-1]
    return {"awb_number": booking.awb, "client_order_id": booking.reference, "status": last["status_id"],
            "status_display": last["status"], "promised_delivery_date": None, "tracking_details": details}


async def _track(request: web.Request) -> web.Response:
    _authorize(request)
    awbs = (await read_json(request)).get("awb_numbers")
    if not isinstance(awbs, list):
        return _failure({"awb_numbers": ["Expected a list of items."]}, status=400)
    if len(awbs) > MAX_TRACK_BATCH:
        return _failure(f"Maximum {MAX_TRACK_BATCH} AWB numbers allowed", status=400)
    control = _control(request)
    now = control.clock.now()
    found = [control.bookings[str(a)] for a in awbs if str(a) in control.bookings]
    return web.json_response({"message": "Success", "data": [_shipment(b, now) for b in found]})


def _find(control: SandboxControl, request_id: str) -> SandboxBooking | None:
    """The booking by AWB or by client order number, as `request_id` takes either."""
    booking = control.bookings.get(request_id)
    matches = control.bookings_for(request_id)
    return booking or (matches[0] if len(matches) == 1 else None)


async def _cancel(request: web.Request) -> web.Response:
    _authorize(request)
    body = await read_json(request)
    control = _control(request)
    booking = _find(control, str(body.get("request_id", "")))
    if booking is None:
        return web.json_response({"responseMsg": "Invalid AWB", "responseCode": 400})
    now = control.clock.now()
    last = booking.last_scan(now)
    status_id = last.scan["status_id"] if last else "new"
    if status_id in script.CANCELLED:
        return web.json_response({"responseMsg": "The request is already in its cancellation phase",
                                  "responseCode": 400})
    if status_id not in script.CANCELLABLE:
        return web.json_response({"responseMsg": "Invalid state", "responseCode": 400})
    location = last.scan["location"] if last else ""
    booking.interrupt(now, script.cancelled(location, str(body.get("cancel_remarks", ""))))
    return web.json_response({"responseMsg": "Request has been marked as cancelled", "responseCode": 200})


async def _serviceability(request: web.Request) -> web.Response:
    _authorize(request)
    control = _control(request)
    service = request.query.get("service", "")
    pins = [p for p in request.query.get("pincodes", "").split(",") if p.isdigit()]
    listed = [{"pincode": int(p), "service": service} for p in pins
              if control.is_serviceable(p) and indian_pincode.validate(p)]
    return web.json_response({"data": listed})


def make_app(control: SandboxControl | None = None, *, token: str = SANDBOX_TOKEN) -> web.Application:
    """The Shadowfax sandbox app; its control is `app[carriers.sandbox.CONTROL_KEY]`."""
    app = new_sandbox_app(control)
    app[TOKEN_KEY] = token
    app.router.add_post(wire.CREATE_PATH, _create)
    app.router.add_post(wire.TRACK_PATH, _track)
    app.router.add_post(wire.CANCEL_PATH, _cancel)
    app.router.add_get(wire.SERVICEABILITY_PATH, _serviceability)
    return app


def adapter_settings(base_url: str) -> dict[str, Any]:
    """Settings that point a ShadowfaxAdapter at this sandbox (used by the contract suite and demo)."""
    return {"base_url": base_url, "token": SANDBOX_TOKEN, "seller_code": SELLER_CODE}


def webhook_example(control: SandboxControl, awb: str, secret: str) -> tuple[dict[str, str], bytes]:
    """The Push Callback Shadowfax would send for the latest status of `awb`, with the agreed token header."""
    booking = control.bookings[awb]
    at, step = booking.scans(control.clock.now())[-1]
    body = {"awb_number": awb, "order_id": booking.reference,
            "event_timestamp": at.astimezone(wire.IST).strftime("%Y-%m-%d %H:%M:%S"),
            "current_location": step.scan["location"], "comments": step.scan["remarks"],
            "event": step.scan["status_id"], "status": step.scan["status"], "otp_verified": "N",
            "rider_name": None, "rider_contact": None, "client_id": CLIENT_ID, "type": "RVP"}
    headers = {"Authorization": f"Token {secret}", "Content-Type": "application/json"}
    return headers, json.dumps(body).encode()


def run(host: str = "127.0.0.1", port: int = 8085, control: SandboxControl | None = None) -> None:
    """Serve the sandbox until interrupted."""
    web.run_app(make_app(control), host=host, port=port)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the Shadowfax sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8085)
    args = parser.parse_args()
    run(args.host, args.port)
