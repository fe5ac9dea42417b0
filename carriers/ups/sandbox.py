"""A local UPS speaking the Shipping, Pickup, Track, Track Alert and OAuth wire formats.

Run it alone with `python -m carriers.ups.sandbox --port 8083`; client `sandbox-client-id` /
`sandbox-client-secret`, shipper number `A1B2C3`.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from carriers.sandbox import CONTROL_KEY, SandboxBooking, SandboxControl, TokenIssuer, new_sandbox_app, read_json
from carriers.ups import sandbox_script as script
from carriers.ups import wire, wire_track

CLIENT_ID, CLIENT_SECRET, ACCOUNT = "sandbox-client-id", "sandbox-client-secret", "A1B2C3"
ISSUER_KEY = web.AppKey("ups_issuer", TokenIssuer)
ZONES = {"origin": ZoneInfo("America/New_York"), "destination": ZoneInfo("America/Chicago")}
# A 1x1 GIF standing in for UPS's label image.
LABEL_GIF = "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"response": {"errors": [{"code": code, "message": message}]}}, status=status)


def _success() -> dict[str, Any]:
    return {"ResponseStatus": {"Code": "1", "Description": "Success"}}


def _authorized(request: web.Request) -> bool:
    return request.app[ISSUER_KEY].is_valid(request.headers.get("Authorization", ""))


def _unauthorized() -> web.Response:
    return _error(401, "250002", "Invalid Authentication Information.")


def _control(request: web.Request) -> SandboxControl:
    return request.app[CONTROL_KEY]


async def _token(request: web.Request) -> web.Response:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    try:
        client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        client_id, secret = "", ""
    if (await request.read()).decode("utf-8", "replace") != "grant_type=client_credentials":
        return _error(400, "10400", "Invalid/Missing grant_type")
    issued = request.app[ISSUER_KEY].issue(client_id, secret) if scheme == "Basic" else None
    if issued is None:
        return _error(401, "250002", "Invalid Authentication Information.")
    token, lifetime_s = issued
    issued_at = int(_control(request).clock.now().timestamp() * 1000)
    return web.json_response({"token_type": "Bearer", "issued_at": str(issued_at), "client_id": client_id,
                              "access_token": token, "scope": "", "expires_in": str(lifetime_s),
                              "refresh_count": "0", "status": "approved"})


def _ship_refusal(shipment: dict[str, Any], control: SandboxControl) -> tuple[str, str]:
    """(code, message) for a shipment UPS would refuse, ("", "") when it books it."""
    if not shipment.get("ShipFrom") and shipment.get("ReturnService"):
        return "120100", "Missing or invalid ShipFrom: required for return shipment"
    packages = shipment.get("Package") or []
    if not packages or not all(p.get("Description") for p in packages):
        return "120541", "Package Description is required for shipment with return service"
    postcode = str(((shipment.get("ShipFrom") or {}).get("Address") or {}).get("PostalCode", ""))
    if not control.is_serviceable(postcode):
        return "111210", "The requested service is unavailable between the selected locations."
    return "", ""


def _reference_of(shipment: dict[str, Any]) -> str:
    for package in shipment.get("Package") or []:
        for ref in package.get("ReferenceNumber") or []:
            if ref.get("Code") == wire.REFERENCE_CODE:
                return str(ref.get("Value", ""))
    return ""


def _city(party: dict[str, Any]) -> tuple[str, str]:
    address = party.get("Address") or {}
    return str(address.get("City", "")), str(address.get("StateProvinceCode", ""))


async def _ship(request: web.Request) -> web.Response:
    if not _authorized(request):
        return _unauthorized()
    shipment = ((await read_json(request)).get("ShipmentRequest") or {}).get("Shipment") or {}
    control = _control(request)
    code, message = _ship_refusal(shipment, control)
    if code:
        return _error(400, code, message)
    reference = _reference_of(shipment)
    control.record_booking_call(reference)
    # No await from here on: UPS books every call; only the reference lookup makes retries safe.
    awb = f"1Z{ACCOUNT}90{len(control.bookings) + 1:08d}"
    scenario = control.take_scenario()
    origin, dest = _city(shipment["ShipFrom"]), _city(shipment.get("ShipTo") or {})
    control.bookings[awb] = SandboxBooking(
        reference=reference, awb=awb, booked_at=control.clock.now(),
        script=script.lifecycle(scenario, origin, dest), scenario=scenario.name if scenario else "happy",
        request={"origin": origin, "dest": dest, "prns": {}})
    label = {"ImageFormat": {"Code": "GIF", "Description": "GIF"}, "GraphicImage": LABEL_GIF}
    return web.json_response({"ShipmentResponse": {
        "Response": _success() | {"TransactionReference": {"CustomerContext": reference}},
        "ShipmentResults": {
            "ShipmentCharges": {"TotalCharges": {"CurrencyCode": "USD", "MonetaryValue": "12.40"}},
            "BillingWeight": {"UnitOfMeasurement": {"Code": "LBS"}, "Weight": "2.0"},
            "ShipmentIdentificationNumber": awb,
            "PackageResults": [{"TrackingNumber": awb, "ShippingLabel": label}],
        }}})


def _open_prn(control: SandboxControl, address: dict[str, Any], day: str) -> str:
    for booking in control.bookings.values():
        for prn, pickup in booking.request["prns"].items():
            if pickup["address"] == address and pickup["date"] == day and not pickup["cancelled"]:
                return str(prn)
    return ""


async def _pickup(request: web.Request) -> web.Response:
    if not _authorized(request):
        return _unauthorized()
    body = (await read_json(request)).get("PickupCreationRequest") or {}
    info, address = body.get("PickupDateInfo") or {}, body.get("PickupAddress") or {}
    if not (info and address and body.get("PickupPiece") and body.get("PaymentMethod")
            and body.get("RatePickupIndicator")):
        return _error(400, "9500501", "Missing required element in PickupCreationRequest")
    control = _control(request)
    day = str(info.get("PickupDate", ""))
    if day < control.clock.now().astimezone(ZONES["origin"]).strftime("%Y%m%d"):
        return _error(400, "9560131", "Invalid pickup date")
    # UPS answers with the open PRN when a pickup already exists at this address.
    count = sum(len(b.request["prns"]) for b in control.bookings.values())
    prn = _open_prn(control, address, day) or f"2929A{count + 1:06d}"
    for tracking in body.get("TrackingData") or []:
        booking = control.bookings.get(str(tracking.get("TrackingNumber", "")))
        if booking is not None:
            booking.request["prns"].setdefault(prn, {"address": address, "date": day, "cancelled": False})
    return web.json_response({"PickupCreationResponse": {
        "Response": _success(), "PRN": prn, "RateStatus": {"Code": "01", "Description": "Rated successfully"}}})


async def _pickup_cancel(request: web.Request) -> web.Response:
    if not _authorized(request):
        return _unauthorized()
    prn = request.headers.get("Prn", "")
    pickups = [b.request["prns"][prn] for b in _control(request).bookings.values() if prn in b.request["prns"]]
    if not pickups or pickups[0]["cancelled"]:
        return _error(400, "9510131", "No pickup found for this PRN")
    for pickup in pickups:
        pickup["cancelled"] = True
    return web.json_response({"PickupCancelResponse": {"Response": _success(), "PickupType": "01"}})


async def _void(request: web.Request) -> web.Response:
    if not _authorized(request):
        return _unauthorized()
    control = _control(request)
    booking = control.bookings.get(request.match_info["awb"])
    if booking is None:
        return _error(400, "190100", "No shipment found")
    now = control.clock.now()
    last = booking.last_scan(now)
    if last is None or not script.is_pre_pickup(dict(last.scan)):
        return _error(400, "190117", "The shipment cannot be voided")
    booking.interrupt(now, script.voided(*booking.request["origin"]))
    return web.json_response({"VoidShipmentResponse": {
        "Response": _success(), "SummaryResult": {"Status": {"Code": "1", "Description": "Success"}},
        "PackageLevelResult": [{"TrackingNumber": booking.awb, "Status": {"Code": "1", "Description": "Voided"}}]}})


def _when(at: datetime, leg: str, offset_sep: str = ":") -> dict[str, str]:
    local = at.astimezone(ZONES.get(leg, ZONES["origin"]))
    offset = local.strftime("%z")
    utc = at.astimezone(UTC)
    return {"date": local.strftime("%Y%m%d"), "time": local.strftime("%H%M%S"),
            "gmtDate": utc.strftime("%Y%m%d"), "gmtTime": utc.strftime("%H%M%S"),
            "gmtOffset": f"{offset[:3]}{offset_sep}{offset[3:]}"}


def _activity_json(at: datetime, scan: dict[str, str] | Any) -> dict[str, Any]:
    return _when(at, scan["leg"]) | {
        "location": {"address": {"city": scan["city"], "stateProvince": scan["state"], "countryCode": "US",
                                 "country": "US"}, "slic": "8902"},
        "status": {"type": scan["type"], "code": scan["code"], "description": scan["description"],
                   "simplifiedTextDescription": scan["description"], "statusCode": scan["statusCode"]},
    }


def _package_json(booking: SandboxBooking, now: datetime) -> dict[str, Any]:
    activities = [_activity_json(at, step.scan) for at, step in reversed(booking.scans(now))]
    status = activities[0]["status"]
    return {"trackingNumber": booking.awb, "packageCount": 1, "service": {"code": "003", "description": "UPS Ground"},
            "currentStatus": {"description": status["description"], "code": status["statusCode"]},
            "referenceNumber": [{"type": "PACKAGE", "number": booking.reference}],
            "activity": activities}


def _track_headers_missing(request: web.Request) -> bool:
    return not (request.headers.get("transId") and request.headers.get("transactionSrc"))


def _track_answer(inquiry: str, found: list[SandboxBooking], now: datetime) -> web.Response:
    if not found:
        shipment = {"inquiryNumber": inquiry, "warnings": [{"code": "TW0001",
                                                            "message": "Tracking Information Not Found"}]}
        return web.json_response({"trackResponse": {"shipment": [shipment]}})
    shipment = {"inquiryNumber": inquiry, "package": [_package_json(b, now) for b in found]}
    return web.json_response({"trackResponse": {"shipment": [shipment]}})


async def _track(request: web.Request) -> web.Response:
    if not _authorized(request):
        return _unauthorized()
    if _track_headers_missing(request):
        return _error(400, "TV1001", "Missing transId or transactionSrc header")
    number = request.match_info["number"]
    control = _control(request)
    booking = control.bookings.get(number)
    return _track_answer(number, _settled([booking] if booking else []), control.clock.now())


async def _reference(request: web.Request) -> web.Response:
    if not _authorized(request):
        return _unauthorized()
    if _track_headers_missing(request):
        return _error(400, "TV1001", "Missing transId or transactionSrc header")
    reference = request.match_info["reference"]
    control = _control(request)
    return _track_answer(reference, control.bookings_for(reference), control.clock.now())


def _settled(bookings: list[SandboxBooking]) -> list[SandboxBooking]:
    """The bookings, those without any pickup turned into drop-offs (once). The adapter asks for the
    pickup right after the shipment (its reference lookup, which may come in between on a retry, does
    not settle), so by the time anyone tracks, no PRN means a drop-off."""
    for booking in bookings:
        if not booking.request["prns"] and not booking.request.get("dropped_off"):
            booking.script = script.dropped_off(booking.script)
            booking.request["dropped_off"] = True
    return bookings


def make_app(control: SandboxControl | None = None) -> web.Application:
    """The UPS sandbox app; its control is `app[carriers.sandbox.CONTROL_KEY]`."""
    app = new_sandbox_app(control)
    app[ISSUER_KEY] = TokenIssuer(app[CONTROL_KEY], CLIENT_ID, CLIENT_SECRET, lifetime_s=14399)
    app.router.add_post(wire.TOKEN_PATH, _token)
    app.router.add_post(wire.SHIP_PATH, _ship)
    app.router.add_post(wire.PICKUP_PATH, _pickup)
    app.router.add_delete(wire.PICKUP_CANCEL_PATH, _pickup_cancel)
    app.router.add_delete(wire.VOID_PATH, _void)
    app.router.add_get(wire.TRACK_PATH, _track)
    app.router.add_get(wire.REFERENCE_PATH, _reference)
    return app


def adapter_settings(base_url: str) -> dict[str, Any]:
    """Settings that point a UpsAdapter at this sandbox (used by the contract suite and demo)."""
    return {"base_url": base_url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "account_number": ACCOUNT}


def has_open_pickup(app: web.Application, awb: str) -> bool:
    """Whether a pickup booked for `awb` is still open (the contract suite checks cancel reaches it)."""
    booking = app[CONTROL_KEY].bookings.get(awb)
    return booking is not None and any(not p["cancelled"] for p in booking.request["prns"].values())


def webhook_example(control: SandboxControl, awb: str, secret: str) -> tuple[dict[str, str], bytes]:
    """The Track Alert push UPS would send for the latest activity of `awb`, with the agreed credential."""
    booking = control.bookings[awb]
    at, step = booking.scans(control.clock.now())[-1]
    scan = step.scan
    when = _when(at, scan["leg"], offset_sep=".")
    body = {"trackingNumber": awb, "localActivityDate": when["date"], "localActivityTime": when["time"],
            "activityLocation": {"city": scan["city"], "stateProvince": scan["state"], "postalCode": "",
                                 "country": "US"},
            "activityStatus": {"type": scan["type"], "code": scan["code"], "description": scan["description"]},
            "gmtActivityDate": when["gmtDate"], "gmtActivityTime": when["gmtTime"], "gmtOffset": when["gmtOffset"]}
    headers = {"Content-Type": "application/json", "User-Agent": wire_track.USER_AGENT,
               wire_track.CREDENTIAL_HEADER: secret}
    return headers, json.dumps(body).encode()


def run(host: str = "127.0.0.1", port: int = 8083, control: SandboxControl | None = None) -> None:
    """Serve the sandbox until interrupted."""
    web.run_app(make_app(control), host=host, port=port)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the UPS sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    args = parser.parse_args()
    run(args.host, args.port)
