"""A local Blue Dart that speaks the API-gateway wire format, driven by a `SandboxControl`.

Run it alone with `python -m carriers.bluedart.sandbox --port 8082`; credentials are in
`adapter_settings()`.
"""

from __future__ import annotations

import argparse
import base64
import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import indian_pincode
from aiohttp import web

from carriers.bluedart import sandbox_script as script
from carriers.bluedart import sandbox_tnt as tnt
from carriers.bluedart import wire
from carriers.sandbox import (
    CONTROL_KEY,
    SandboxBooking,
    SandboxControl,
    TokenIssuer,
    new_sandbox_app,
    read_json,
)
from carriers.sandbox_label import sample_label

CLIENT_ID = "sandbox-client-id"
CLIENT_SECRET = "sandbox-client-secret"
LOGIN_ID = "BLR00001"
LICENCE_KEY = "sandbox-licence-key"
TRACKING_LICENCE_KEY = "sandbox-tracking-key"
ISSUER_KEY = web.AppKey("bluedart_issuer", TokenIssuer)


def _control(request: web.Request) -> SandboxControl:
    return request.app[CONTROL_KEY]


def _unauthorized(detail: str) -> web.HTTPException:
    return web.HTTPUnauthorized(text=json.dumps({"title": "Unauthorized", "status": 401, "detail": detail}),
                                content_type="application/json")


def _error_response(message: str, code: str = "InvalidRequest", status: int = 400) -> web.Response:
    body = {"error-response": [{"IsError": True, "Status": [{"StatusCode": code, "StatusInformation": message}]}]}
    return web.json_response(body, status=status)


def _authorize(request: web.Request) -> None:
    token = request.headers.get("JWTToken", "")
    # TokenIssuer speaks OAuth headers; Blue Dart sends the bare JWT in its own header.
    if not token or not request.app[ISSUER_KEY].is_valid(f"Bearer {token}"):
        raise _unauthorized("JWTToken is missing, invalid or expired")


def _profile_error(body: dict[str, Any]) -> web.Response | None:
    given = body.get("Profile") or body.get("profile") or {}
    if not isinstance(given, dict) or (given.get("LoginID"), given.get("LicenceKey")) != (LOGIN_ID, LICENCE_KEY):
        return _error_response("Invalid LoginID or LicenceKey", "InvalidLicenseKey")
    return None


BodyHandler = Callable[[web.Request, dict[str, Any]], Awaitable[web.Response]]


def _profiled(handler: BodyHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler that runs only with a live JWT and the account's profile in the JSON body."""
    async def guarded(request: web.Request) -> web.Response:
        _authorize(request)
        body = await read_json(request)
        refused = _profile_error(body)
        return refused if refused is not None else await handler(request, body)
    return guarded


async def _login(request: web.Request) -> web.Response:
    issued = request.app[ISSUER_KEY].issue(request.headers.get("ClientID", ""),
                                           request.headers.get("clientSecret", ""))
    if issued is None:
        raise _unauthorized("Invalid ClientID or clientSecret")
    return web.json_response({"JWTToken": issued[0]})


def _is_served(control: SandboxControl, pin: str) -> bool:
    return pin.isdigit() and indian_pincode.validate(pin) and control.is_serviceable(pin)


async def _finder(request: web.Request, body: dict[str, Any]) -> web.Response:
    pin = str(body.get("pinCode", ""))
    if not _is_served(_control(request), pin):
        return web.json_response({"GetServicesforPincodeResult": {
            "AreaCode": "", "IsError": True, "ErrorMessage": "Pincode not serviceable", "PincodeDescription": ""}})
    return web.json_response({"GetServicesforPincodeResult": {
        "AreaCode": tnt.area(pin), "PincodeDescription": f"SANDBOX {pin}", "ServiceCenterCode": tnt.area(pin),
        "ApexInbound": "Yes", "ApexOutbound": "Yes", "DomesticPriorityInbound": "Yes",
        "DomesticPriorityOutbound": "Yes", "GroundInbound": "Yes", "GroundOutbound": "Yes",
        "IsError": False, "ErrorMessage": "Valid"}})


def _too_long(request_body: dict[str, Any]) -> bool:
    parties = [request_body.get(k) for k in ("Consignee", "Shipper", "Returnadds")]
    return any(isinstance(v, str) and ("Address" in k or k.endswith("Name")) and len(v) > wire.FIELD_MAX
               for party in parties if isinstance(party, dict) for k, v in party.items())


def _refusal(control: SandboxControl, request_body: dict[str, Any]) -> str:
    """Why Blue Dart would refuse this waybill, "" when it books it."""
    services, shipper = request_body.get("Services") or {}, request_body.get("Shipper") or {}
    consignee = request_body.get("Consignee") or {}
    reference = str(services.get("CreditReferenceNo", ""))
    if not reference or len(reference) > wire.REFERENCE_MAX:
        return "Invalid CreditReferenceNo"
    if not services.get("Dimensions"):
        return "Dimensions are required"
    if not _is_served(control, str(shipper.get("CustomerPincode", ""))):
        return "Pickup pincode is not serviceable"
    if not _is_served(control, str(consignee.get("ConsigneePincode", ""))):
        return "Destination pincode is not serviceable"
    if control.bookings_for(reference):
        return f"Waybill already generated for CreditReferenceNo {reference}"
    return ""


async def _waybill(request: web.Request, body: dict[str, Any]) -> web.Response:
    request_body = body.get("Request")
    if not isinstance(request_body, dict):
        return _error_response("Invalid: Object reference not set to an instance of an object.")
    if _too_long(request_body):
        return web.Response(status=400)
    # No await from here on: the duplicate check and the insert happen as one step.
    control = _control(request)
    reference = str((request_body.get("Services") or {}).get("CreditReferenceNo", ""))
    control.record_booking_call(reference)
    refusal = _refusal(control, request_body)
    if refusal:
        return _error_response(refusal)
    return web.json_response({"GenerateWayBillResult": _book(control, request_body, reference)})


def _book(control: SandboxControl, request_body: dict[str, Any], reference: str) -> dict[str, Any]:
    number = len(control.bookings) + 1
    awb, token = f"695{number:08d}", f"{number:07d}"
    scenario = control.take_scenario()
    origin, drop = tnt.places(request_body)
    control.bookings[awb] = SandboxBooking(
        reference=reference, awb=awb, booked_at=control.clock.now(),
        script=script.lifecycle(scenario, origin, tnt.HUB, drop), request=request_body,
        scenario=scenario.name if scenario else "happy")
    services = request_body.get("Services") or {}
    return {"AWBNo": awb, "AWBPrintContent": base64.b64encode(_label_pdf(awb, reference)).decode(),
            "CCRCRDREF": reference, "ClusterCode": drop[1], "DestinationArea": drop[1],
            "DestinationLocation": drop[0], "IsError": False, "IsErrorInPU": False,
            "ShipmentPickupDate": services.get("PickupDate", ""), "TokenNumber": token,
            "Status": [{"StatusCode": "Valid", "StatusInformation": "Waybill Generation Sucessful"}],
            "AvailableBalance": 0, "TransactionAmount": 0, "MPSDetails": None}


def _label_pdf(awb: str, reference: str) -> bytes:
    return sample_label("Blue Dart", [(awb, reference)])


def _is_pre_pickup(booking: SandboxBooking, now: datetime) -> bool:
    """Whether the parcel is still with the customer (no scan after the pickup leg, no cancel)."""
    return all(step.scan["ScanType"] == script.PICKUP_LEG and step.scan["ScanCode"] != "015"
               for _, step in booking.scans(now))


def _is_cancelled(booking: SandboxBooking, now: datetime) -> bool:
    return any(step.scan["ScanGroupType"] == "T" and step.scan["ScanCode"] == "098" for _, step in booking.scans(now))


async def _cancel(request: web.Request, body: dict[str, Any]) -> web.Response:
    control = _control(request)
    awb = str((body.get("Request") or {}).get("AWBNo", ""))
    booking = control.bookings.get(awb)
    if booking is None:
        return _error_response(f"Invalid AWB number {awb}")
    now = control.clock.now()
    if _is_cancelled(booking, now):
        return _cancel_result(awb, True, "AWBAlreadyCancelled", "Waybill already cancelled")
    if not _is_pre_pickup(booking, now):
        return _cancel_result(awb, True, "PickupDone", "Shipment already picked up, cannot be cancelled")
    origin, _ = tnt.places(booking.request)
    booking.interrupt(now, script.cancelled(*origin))
    return _cancel_result(awb, False, "Valid", "Waybill cancelled successfully")


def _cancel_result(awb: str, is_error: bool, code: str, text: str) -> web.Response:
    return web.json_response({"CancelWaybillResult": {
        "AWBNo": awb, "IsError": is_error, "Status": [{"StatusCode": code, "StatusInformation": text}]}})


async def _register_pickup(request: web.Request, body: dict[str, Any]) -> web.Response:
    control, pickup = _control(request), body.get("request") or {}
    awbs = pickup.get("AWBNo")
    bookings = [control.bookings.get(str(a)) for a in awbs] if isinstance(awbs, list) else []
    when = wire.parse_ms_date(pickup.get("ShipmentPickupDate"))
    now = control.clock.now()
    if not bookings or when is None or any(b is None or not _is_pre_pickup(b, now) or _is_cancelled(b, now)
                                           for b in bookings):
        return _error_response("Pickup cannot be registered for these waybills")
    for booking in bookings:
        assert booking is not None
        origin, drop = tnt.places(booking.request)
        booking.restart(now, script.rescheduled(_delay_until(when.date(), now), origin, tnt.HUB, drop))
    return web.json_response({"RegisterPickupResult": {
        "TokenNumber": f"{len(control.bookings) + 1000:07d}", "IsError": False,
        "ShipmentPickupDate": pickup.get("ShipmentPickupDate"),
        "Status": [{"StatusCode": "Valid", "StatusInformation": "Pickup registered"}]}})


def _delay_until(day: date, now: datetime) -> timedelta:
    """From now to 10:00 IST on the pickup day, at least an hour."""
    start = datetime.combine(day, time(10), tzinfo=wire.IST)
    return max(start - now, timedelta(hours=1))


async def _track(request: web.Request) -> web.Response:
    _authorize(request)
    query, control = request.query, _control(request)
    numbers = [n for n in query.get("numbers", "").split(",") if n]
    if len(numbers) > wire.MAX_TRACK_BATCH:
        return web.Response(status=400, text=f"At most {wire.MAX_TRACK_BATCH} numbers per request")
    # A wrong licence key is not refused: Blue Dart answers "no information" for every number.
    is_licensed = (query.get("loginid"), query.get("lickey")) == (LOGIN_ID, TRACKING_LICENCE_KEY)
    by_reference = query.get("awb") == "ref"
    bookings = list(control.bookings.values()) if is_licensed else []
    found = [(n, [b for b in bookings if (b.reference if by_reference else b.awb) == n]) for n in numbers]
    return web.Response(body=tnt.tracking_xml(found, control.clock.now()), content_type="text/xml")


def make_app(control: SandboxControl | None = None) -> web.Application:
    """The Blue Dart sandbox app; its control is `app[carriers.sandbox.CONTROL_KEY]`."""
    app = new_sandbox_app(control)
    app[ISSUER_KEY] = TokenIssuer(app[CONTROL_KEY], CLIENT_ID, CLIENT_SECRET, lifetime_s=3600)
    app.router.add_get(wire.TOKEN_PATH, _login)
    app.router.add_post(wire.FINDER_PATH, _profiled(_finder))
    app.router.add_post(wire.WAYBILL_PATH, _profiled(_waybill))
    app.router.add_post(wire.CANCEL_PATH, _profiled(_cancel))
    app.router.add_post(wire.PICKUP_PATH, _profiled(_register_pickup))
    app.router.add_get(wire.TRACK_PATH, _track)
    return app


def adapter_settings(base_url: str) -> dict[str, Any]:
    """Settings that point a BlueDartAdapter at this sandbox (used by the contract suite and demo)."""
    return {"base_url": base_url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "login_id": LOGIN_ID,
            "licence_key": LICENCE_KEY, "tracking_licence_key": TRACKING_LICENCE_KEY, "customer_code": "123456"}


def webhook_example(control: SandboxControl, awb: str, secret: str) -> tuple[dict[str, str], bytes]:
    """The Push API (Lite) body Blue Dart would send for the latest scan of `awb`, with the agreed token."""
    booking = control.bookings[awb]
    at, step = booking.scans(control.clock.now())[-1]
    local = at.astimezone(wire.IST)
    shipment = {"WaybillNo": awb, "RefNo": booking.reference, "Scan": step.scan["Scan"],
                "ScanCode": step.scan["ScanCode"], "ScanGroupType": step.scan["ScanGroupType"],
                "ScanDate": local.strftime("%d-%m-%Y"), "ScanTime": local.strftime("%H%M"),
                "ScanType": step.scan["ScanType"], "ScannedLocationCode": step.scan["ScannedLocationCode"],
                "Comments": ""}
    headers = {"client-id": "backhaul", "token": secret, "Content-Type": "application/json"}
    return headers, json.dumps({"statustracking": [{"Shipment": shipment}]}).encode()


def run(host: str = "127.0.0.1", port: int = 8082, control: SandboxControl | None = None) -> None:
    """Serve the sandbox until interrupted."""
    web.run_app(make_app(control), host=host, port=port)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the Blue Dart sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    args = parser.parse_args()
    run(args.host, args.port)
