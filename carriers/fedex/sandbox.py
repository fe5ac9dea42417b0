"""A local FedEx speaking the Ship, Pickup, Track and OAuth wire formats, driven by a `SandboxControl`.

Run it alone with `python -m carriers.fedex.sandbox --port 8082`; credentials are
`sandbox-api-key` / `sandbox-secret-key`, account `740561073`.
"""

from __future__ import annotations

import argparse
import base64
import json
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from aiohttp import web

from carriers.fedex import sandbox_script as script
from carriers.fedex import wire, wire_track
from carriers.sandbox import CONTROL_KEY, SandboxBooking, SandboxControl, TokenIssuer, new_sandbox_app, read_json

API_KEY, SECRET_KEY, ACCOUNT = "sandbox-api-key", "sandbox-secret-key", "740561073"
ISSUER_KEY = web.AppKey("fedex_issuer", TokenIssuer)
MAX_TRACK_BATCH = 30
# Scans are written in the local time of where they happen: the customer's end or the warehouse's.
ZONES = {"origin": ZoneInfo("America/New_York"), "destination": ZoneInfo("America/Chicago")}
# A one-page blank PDF standing in for FedEx's 4x6 label.
LABEL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>"
             b"endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 288 432]>>endobj\ntrailer<</Root 1 0 R>>\n"
             b"%%EOF\n")
_SHIP_REQUIRED = ("shipper", "recipients", "pickupType", "serviceType", "packagingType", "totalWeight",
                  "shippingChargesPayment", "labelSpecification", "requestedPackageLineItems")
# The Ship API's pickupType values (carriers.md §1.4); a drop-off return says DROPOFF_AT_FEDEX_LOCATION.
_PICKUP_TYPES = frozenset({"CONTACT_FEDEX_TO_SCHEDULE", "DROPOFF_AT_FEDEX_LOCATION", "USE_SCHEDULED_PICKUP"})


def _error(status: int, code: str, message: str) -> web.Response:
    body = {"transactionId": str(uuid.uuid4()), "errors": [{"code": code, "message": message}]}
    return web.json_response(body, status=status)


def _ok(output: dict[str, Any]) -> web.Response:
    return web.json_response({"transactionId": str(uuid.uuid4()), "output": output})


def _authorized(request: web.Request) -> bool:
    return request.app[ISSUER_KEY].is_valid(request.headers.get("Authorization", ""))


def _unauthorized() -> web.Response:
    return _error(401, "NOT.AUTHORIZED.ERROR", "The given JWT is invalid. Please modify your request and try again.")


def _control(request: web.Request) -> SandboxControl:
    return request.app[CONTROL_KEY]


async def _token(request: web.Request) -> web.Response:
    form = {k: v[0] for k, v in parse_qs((await request.read()).decode("utf-8", "replace")).items()}
    if form.get("grant_type") != "client_credentials":
        return _error(400, "BAD.REQUEST.ERROR", "grant_type must be client_credentials")
    issued = request.app[ISSUER_KEY].issue(form.get("client_id", ""), form.get("client_secret", ""))
    if issued is None:
        return _error(401, "NOT.AUTHORIZED.ERROR",
                      "The given client credentials were not valid. Please modify your request and try again.")
    token, lifetime_s = issued
    return web.json_response({"access_token": token, "token_type": "bearer", "expires_in": lifetime_s,
                              "scope": "CXS-TP"})


async def _availability(request: web.Request) -> web.Response:
    if not _authorized(request):
        return _unauthorized()
    body = await read_json(request)
    address = body.get("pickupAddress") or {}
    control = _control(request)
    is_available = control.is_serviceable(str(address.get("postalCode", "")))
    day = (control.clock.now() + timedelta(days=1)).date().isoformat()
    options = [{"carrier": carrier, "available": is_available, "pickupDate": day, "cutOffTime": "16:00:00",
                "accessTime": "PT2H", "residentialAvailable": is_available,
                "countryRelationship": body.get("countryRelationship", "DOMESTIC"), "scheduleDay": "FUTURE_DAY"}
               for carrier in body.get("carriers") or ["FDXG"]]
    return _ok({"requestTimestamp": control.clock.now().isoformat(), "options": options})


def _ship_refusal(body: dict[str, Any]) -> str:
    shipment = body.get("requestedShipment")
    if not isinstance(shipment, dict) or not (body.get("accountNumber") or {}).get("value"):
        return "accountNumber and requestedShipment are required"
    missing = [k for k in _SHIP_REQUIRED if not shipment.get(k)]
    if missing:
        return f"requestedShipment.{missing[0]} is required"
    if shipment["pickupType"] not in _PICKUP_TYPES:
        return f"requestedShipment.pickupType {shipment['pickupType']!r} is not valid"
    services = shipment.get("shipmentSpecialServices") or {}
    if "RETURN_SHIPMENT" not in (services.get("specialServiceTypes") or []):
        return "RETURN_SHIPMENT is required for creating return shipments"
    return ""


def _reference_of(shipment: dict[str, Any]) -> str:
    for package in shipment.get("requestedPackageLineItems") or []:
        for ref in package.get("customerReferences") or []:
            if ref.get("customerReferenceType") == wire.REFERENCE_TYPE:
                return str(ref.get("value", ""))
    return ""


async def _ship(request: web.Request) -> web.Response:
    if not _authorized(request):
        return _unauthorized()
    body = await read_json(request)
    refusal = _ship_refusal(body)
    if refusal:
        return _error(400, "INVALID.INPUT.EXCEPTION", refusal)
    shipment = body["requestedShipment"]
    control = _control(request)
    reference = _reference_of(shipment)
    control.record_booking_call(reference)
    # No await from here on: FedEx books every call; only the reference lookup makes retries safe.
    awb = f"7949{len(control.bookings) + 1:08d}"
    origin = _city(shipment["shipper"])
    dest = _city(shipment["recipients"][0])
    scenario = control.take_scenario()
    control.bookings[awb] = SandboxBooking(
        reference=reference, awb=awb, booked_at=control.clock.now(),
        script=script.lifecycle(scenario, origin, dest, shipment["pickupType"] == "DROPOFF_AT_FEDEX_LOCATION"),
        scenario=scenario.name if scenario else "happy",
        request={"shipment": shipment, "pickups": {}, "origin": origin, "dest": dest})
    document = {"contentType": "LABEL", "copiesToPrint": 1, "docType": "PDF",
                "encodedLabel": base64.b64encode(LABEL_PDF).decode()}
    return _ok({"transactionShipments": [{
        "serviceType": shipment["serviceType"], "shipDatestamp": control.clock.now().date().isoformat(),
        "masterTrackingNumber": awb,
        "completedShipmentDetail": {"carrierCode": "FDXG", "masterTrackingId": {"trackingIdType": "FEDEX",
                                                                               "trackingNumber": awb}},
        "pieceResponses": [{"trackingNumber": awb, "packageDocuments": [document]}],
    }]})


def _city(party: dict[str, Any]) -> tuple[str, str]:
    address = party.get("address") or {}
    return str(address.get("city", "")).upper(), str(address.get("stateOrProvinceCode", ""))


async def _ship_cancel(request: web.Request) -> web.Response:
    if not _authorized(request):
        return _unauthorized()
    body = await read_json(request)
    control = _control(request)
    booking = control.bookings.get(str(body.get("trackingNumber", "")))
    if booking is None:
        return _error(400, "TRACKINGNUMBER.ENTERED.INVALID", "Invalid tracking number entered.")
    now = control.clock.now()
    last = booking.last_scan(now)
    if last is None or last.scan["eventType"] not in script.PRE_PICKUP_EVENTS:
        return _ok({"cancelledShipment": False, "cancelledHistory": False,
                    "message": "Shipment cannot be cancelled in its current state"})
    booking.interrupt(now, script.cancelled(*booking.request["origin"]))
    return _ok({"cancelledShipment": True, "cancelledHistory": True, "message": "Shipment is successfully cancelled"})


async def _pickup(request: web.Request) -> web.Response:
    if not _authorized(request):
        return _unauthorized()
    body = await read_json(request)
    origin = body.get("originDetail") or {}
    location = origin.get("pickupLocation") or {}
    if not (body.get("associatedAccountNumber") or {}).get("value") or not location or \
            not origin.get("readyDateTimestamp") or not origin.get("customerCloseTime"):
        return _error(400, "INVALID.INPUT.EXCEPTION", "associatedAccountNumber and originDetail are required")
    if body.get("carrierCode") == "FDXG" and not origin.get("packageLocation"):
        return _error(400, "INVALID.INPUT.EXCEPTION", "packageLocation is required for FedEx Ground")
    control = _control(request)
    if not control.is_serviceable(str((location.get("address") or {}).get("postalCode", ""))):
        return _error(400, "INVALID.INPUT.EXCEPTION", "Pickup is not available for this postal code.")
    day = str(origin["readyDateTimestamp"])[:10]
    if day < control.clock.now().astimezone(ZONES["origin"]).date().isoformat():
        return _error(400, "PICKUP.REQUESTED.PREVIOUS.DAY", "Cannot schedule a pickup requested for a previous day.")
    code = str(1000 + sum(len(b.request["pickups"]) for b in control.bookings.values()) + 1)
    booking = control.bookings.get(str(body.get("trackingNumber", "")))
    if booking is not None:
        booking.request["pickups"][code] = {"date": day, "cancelled": False}
    express = {"location": "NQAA"} if body.get("carrierCode") == "FDXE" else {}
    return _ok({"pickupConfirmationCode": code, "message": "Pickup scheduled", **express, "alerts": []})


async def _pickup_cancel(request: web.Request) -> web.Response:
    if not _authorized(request):
        return _unauthorized()
    body = await read_json(request)
    code = str(body.get("pickupConfirmationCode", ""))
    if not code or not body.get("scheduledDate"):
        return _error(400, "INVALID.INPUT.EXCEPTION", "pickupConfirmationCode and scheduledDate are required")
    pickups = [b.request["pickups"][code] for b in _control(request).bookings.values() if code in b.request["pickups"]]
    if not pickups or pickups[0]["cancelled"]:
        return _error(400, "INVALID.INPUT.EXCEPTION", "No open pickup with this confirmation code.")
    pickups[0]["cancelled"] = True
    return _ok({"pickupConfirmationCode": code,
                "cancelConfirmationMessage": "Requested pickup has been cancelled Successfully.", "alerts": []})


def _local(at: datetime, leg: str) -> str:
    return at.astimezone(ZONES.get(leg, ZONES["origin"])).isoformat(timespec="seconds")


def _scan_json(at: datetime, scan: dict[str, str] | Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "date": _local(at, scan["leg"]), "eventType": scan["eventType"], "eventDescription": scan["eventDescription"],
        "derivedStatusCode": scan["derivedStatusCode"], "derivedStatus": scan["derivedStatus"],
        "scanLocation": {"city": scan["city"], "stateOrProvinceCode": scan["state"], "countryCode": "US",
                         "residential": False},
        "locationType": scan["locationType"],
    }
    if scan["exceptionCode"]:
        event |= {"exceptionCode": scan["exceptionCode"], "exceptionDescription": scan["exceptionDescription"]}
    return event


def track_result(booking: SandboxBooking, now: datetime) -> dict[str, Any]:
    """One trackResult as the Track API and AIV write it, scans newest first."""
    scans = [_scan_json(at, step.scan) for at, step in reversed(booking.scans(now))]
    latest = scans[0]
    return {
        "trackingNumberInfo": {"trackingNumber": booking.awb, "carrierCode": "FDXG",
                               "trackingNumberUniqueId": f"2460425000~{booking.awb}~FDEG"},
        "latestStatusDetail": {"code": latest["eventType"], "derivedCode": latest["derivedStatusCode"],
                               "statusByLocale": latest["derivedStatus"], "description": latest["eventDescription"],
                               "scanLocation": latest["scanLocation"]},
        "dateAndTimes": [{"type": "SHIP", "dateTime": _local(booking.booked_at, "origin")}],
        "serviceDetail": {"type": "FEDEX_GROUND", "description": "FedEx Ground"},
        "scanEvents": scans,
    }


def _not_found(number: str, code: str) -> dict[str, Any]:
    return {"trackingNumber": number, "trackResults": [{
        "trackingNumberInfo": {"trackingNumber": number, "carrierCode": ""},
        "error": {"code": code, "message": "Tracking number cannot be found. Please correct and try again."}}]}


async def _track(request: web.Request) -> web.Response:
    if not _authorized(request):
        return _unauthorized()
    infos = (await read_json(request)).get("trackingInfo") or []
    if not infos:
        return _error(400, "TRACKING.TRACKINGNUMBER.EMPTY", "Please provide tracking number.")
    if len(infos) > MAX_TRACK_BATCH:
        return _error(400, "INVALID.INPUT.EXCEPTION", f"At most {MAX_TRACK_BATCH} tracking numbers per request.")
    control = _control(request)
    now = control.clock.now()
    complete = []
    for info in infos:
        number = str((info.get("trackingNumberInfo") or {}).get("trackingNumber", ""))
        booking = control.bookings.get(number)
        complete.append({"trackingNumber": number, "trackResults": [track_result(booking, now)]} if booking
                        else _not_found(number, "TRACKING.TRACKINGNUMBER.NOTFOUND"))
    return _ok({"completeTrackResults": complete})


async def _references(request: web.Request) -> web.Response:
    if not _authorized(request):
        return _unauthorized()
    info = (await read_json(request)).get("referencesInformation") or {}
    value = str(info.get("value", ""))
    if not value or info.get("accountNumber") != ACCOUNT:
        return _error(400, "INVALID.INPUT.EXCEPTION", "referencesInformation value and accountNumber are required")
    control = _control(request)
    now = control.clock.now()
    found = control.bookings_for(value)
    if not found:
        return _ok({"completeTrackResults": [_not_found(value, "TRACKING.REFERENCENUMBER.NOTFOUND")]})
    results = [track_result(b, now) for b in found]
    return _ok({"completeTrackResults": [{"trackingNumber": value, "trackResults": results}]})


def make_app(control: SandboxControl | None = None) -> web.Application:
    """The FedEx sandbox app; its control is `app[carriers.sandbox.CONTROL_KEY]`."""
    app = new_sandbox_app(control)
    app[ISSUER_KEY] = TokenIssuer(app[CONTROL_KEY], API_KEY, SECRET_KEY, lifetime_s=3599)
    app.router.add_post(wire.TOKEN_PATH, _token)
    app.router.add_post(wire.AVAILABILITY_PATH, _availability)
    app.router.add_post(wire.SHIP_PATH, _ship)
    app.router.add_put(wire.SHIP_CANCEL_PATH, _ship_cancel)
    app.router.add_post(wire.PICKUP_PATH, _pickup)
    app.router.add_put(wire.PICKUP_CANCEL_PATH, _pickup_cancel)
    app.router.add_post(wire.TRACK_PATH, _track)
    app.router.add_post(wire.REFERENCE_PATH, _references)
    return app


def adapter_settings(base_url: str) -> dict[str, Any]:
    """Settings that point a FedexAdapter at this sandbox (used by the contract suite and demo)."""
    return {"base_url": base_url, "api_key": API_KEY, "secret_key": SECRET_KEY, "account_number": ACCOUNT}


def has_open_pickup(app: web.Application, awb: str) -> bool:
    """Whether a pickup booked for `awb` is still open (the contract suite checks cancel reaches it)."""
    booking = app[CONTROL_KEY].bookings.get(awb)
    return booking is not None and any(not p["cancelled"] for p in booking.request["pickups"].values())


def webhook_example(control: SandboxControl, awb: str, secret: str) -> tuple[dict[str, str], bytes]:
    """The AIV push FedEx would send for `awb` now (detailed response), signed with `secret`."""
    booking = control.bookings[awb]
    body = json.dumps({"trackingNumber": awb, "trackResults": [track_result(booking, control.clock.now())]}).encode()
    headers = {"Content-Type": "application/json", wire_track.SIGNATURE_HEADER: wire_track.signature(secret, body)}
    return headers, body


def run(host: str = "127.0.0.1", port: int = 8082, control: SandboxControl | None = None) -> None:
    """Serve the sandbox until interrupted."""
    web.run_app(make_app(control), host=host, port=port)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the FedEx sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    args = parser.parse_args()
    run(args.host, args.port)
