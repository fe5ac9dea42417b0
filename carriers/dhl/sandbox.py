"""A local DHL that speaks the MyDHL API wire (and builds Unified push bodies), driven by a `SandboxControl`.

Run it alone with `python -m carriers.dhl.sandbox --port 8083`; the API key/secret are
`sandbox-key`/`sandbox-secret` and the account is `123456789`.
"""

from __future__ import annotations

import argparse
import base64
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from carriers.dhl import sandbox_script as script
from carriers.dhl import wire, wire_tracking
from carriers.sandbox import CONTROL_KEY, SandboxBooking, SandboxControl, new_sandbox_app, read_json

PREFIX = "/mydhlapi"
SANDBOX_KEY, SANDBOX_SECRET, SANDBOX_ACCOUNT = "sandbox-key", "sandbox-secret", "123456789"
MAX_TRACK_BATCH = 200
PICKUPS_KEY = web.AppKey("dhl_pickups", dict[str, str])  # dispatchConfirmationNumber -> AWB
_ZONES = {"US": "America/New_York", "CA": "America/Toronto", "GB": "Europe/London", "DE": "Europe/Berlin",
          "FR": "Europe/Paris", "NL": "Europe/Amsterdam", "DK": "Europe/Copenhagen", "AU": "Australia/Sydney",
          "SG": "Asia/Singapore", "AE": "Asia/Dubai"}
# A one-page PDF, enough for a viewer and for a test to recognise.
LABEL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
             b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 288 432]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
_REQUIRED = ("plannedShippingDateAndTime", "pickup", "productCode", "accounts", "customerDetails", "content")


def problem(status: int, title: str, detail: str, instance: str) -> web.Response:
    """DHL's RFC 7807 answer; its `status` is a string, as in DHL's examples."""
    body = {"instance": instance, "detail": detail, "title": title, "message": title, "status": str(status),
            "additionalDetails": []}
    return web.Response(status=status, text=json.dumps(body), content_type="application/problem+json")


def _refusal(request: web.Request) -> web.Response | None:
    expected = "Basic " + base64.b64encode(f"{SANDBOX_KEY}:{SANDBOX_SECRET}".encode()).decode()
    if request.headers.get("Authorization") != expected:
        return problem(401, "Unauthorized", "Invalid credentials", request.path)
    if not request.headers.get("x-version"):
        return problem(400, "Bad request", "Missing required header x-version", request.path)
    return None


def _local(moment: datetime, country: str) -> datetime:
    return moment.astimezone(ZoneInfo(_ZONES.get(country, "UTC")))


def _countries(booking: SandboxBooking) -> dict[str, str]:
    details = booking.request["customerDetails"]
    return {"origin": details["shipperDetails"]["postalAddress"]["countryCode"],
            "destination": details["receiverDetails"]["postalAddress"]["countryCode"]}


async def _create(request: web.Request) -> web.Response:
    refused = _refusal(request)
    if refused is not None:
        return refused
    body = await read_json(request)
    missing = [k for k in _REQUIRED if k not in body]
    if missing:
        return problem(422, "Validation error", f"#: required key [{missing[0]}] not found", "/expressapi/shipments")
    accounts = body["accounts"] if isinstance(body["accounts"], list) else []
    if not any(a.get("number") == SANDBOX_ACCOUNT for a in accounts if isinstance(a, dict)):
        return problem(422, "Validation error", "#/accounts/0: required key [number] not found",
                       "/expressapi/shipments")
    control = request.app[CONTROL_KEY]
    shipper = body["customerDetails"]["shipperDetails"]["postalAddress"]
    references = [r.get("value", "") for r in body.get("customerReferences") or [] if isinstance(r, dict)]
    control.record_booking_call(references[0] if references else "")
    if not control.is_serviceable(str(shipper.get("postalCode", ""))):
        return problem(422, "Product not available",
                       f"Product {body['productCode']} is not available between this origin and destination",
                       "/expressapi/shipments")
    return web.json_response(_book(request.app, body, references[0] if references else ""), status=201)


def _book(app: web.Application, body: dict[str, Any], reference: str) -> dict[str, Any]:
    control = app[CONTROL_KEY]
    number = len(control.bookings) + 1
    # No courier is booked for a shipment without `pickup.isRequested`: no dispatch confirmation.
    is_pickup = bool((body.get("pickup") or {}).get("isRequested"))
    awb = f"{5786694000 + number}"
    dcn = f"PRG{control.clock.now():%y%m%d}{number:06d}" if is_pickup else ""
    details = body["customerDetails"]
    origin = details["shipperDetails"]["postalAddress"].get("cityName", "Origin")
    destination = details["receiverDetails"]["postalAddress"].get("cityName", "Destination")
    scenario = control.take_scenario()
    control.bookings[awb] = SandboxBooking(
        reference=reference, awb=awb, booked_at=control.clock.now(),
        script=script.lifecycle(scenario, origin, destination, is_drop_off=not is_pickup),
        request=dict(body, dispatch=dcn),
        scenario=scenario.name if scenario else "happy")
    if dcn:
        app[PICKUPS_KEY][dcn] = awb
    tracking_url = f"https://www.dhl.com/en/express/tracking.html?AWB={awb}&brand=DHL"
    pickup = {"dispatchConfirmationNumber": dcn,
              "cancelPickupUrl": f"https://mydhl.express.dhl/cancel-pickup?number={dcn}"} if dcn else {}
    return {"url": f"{PREFIX}/shipments/{awb}", "shipmentTrackingNumber": awb, **pickup, "trackingUrl": tracking_url,
            "packages": [{"referenceNumber": 1, "trackingNumber": f"JD01460000{number:010d}",
                          "trackingUrl": tracking_url}],
            "documents": [{"imageFormat": "PDF", "content": base64.b64encode(LABEL_PDF).decode(), "typeCode": "label"}],
            "warnings": []}


def _event(booking: SandboxBooking, at: datetime, scan: dict[str, str]) -> dict[str, Any]:
    local = _local(at, _countries(booking)[scan["where"]])
    offset = local.strftime("%z")
    return {"date": local.strftime("%Y-%m-%d"), "time": local.strftime("%H:%M:%S"),
            "GMTOffset": f"{offset[:3]}:{offset[3:]}", "typeCode": scan["typeCode"],
            "description": scan["description"], "serviceArea": [{"code": scan["area"][:3].upper(),
                                                                 "description": scan["area"]}],
            "signedBy": "", "remarks": []}


def _party_json(details: dict[str, Any]) -> dict[str, Any]:
    postal = details["postalAddress"]
    return {"name": details["contactInformation"].get("fullName", ""),
            "postalAddress": {k: postal.get(k, "") for k in ("cityName", "postalCode", "countryCode")},
            "serviceArea": [{"code": str(postal.get("cityName", ""))[:3].upper(),
                             "description": postal.get("cityName")}]}


def _shipment_json(booking: SandboxBooking, now: datetime, with_events: bool) -> dict[str, Any]:
    details = booking.request["customerDetails"]
    events = [_event(booking, at, dict(step.scan)) for at, step in booking.scans(now)] if with_events else []
    return {"shipmentTrackingNumber": booking.awb, "status": "Success",
            "shipmentTimestamp": booking.booked_at.strftime("%Y-%m-%dT%H:%M:%S"),
            "productCode": booking.request.get("productCode", "P"), "description": booking.request["content"].get(
                "description", ""),
            "shipperDetails": _party_json(details["shipperDetails"]),
            "receiverDetails": _party_json(details["receiverDetails"]),
            "totalWeight": booking.request["content"]["packages"][0].get("weight"), "unitOfMeasurements": "metric",
            "shipperReferences": [{"value": booking.reference, "typeCode": wire.REFERENCE_TYPE_CODE}],
            "events": events, "numberOfPieces": 1}


async def _track(request: web.Request) -> web.Response:
    refused = _refusal(request)
    if refused is not None:
        return refused
    control = request.app[CONTROL_KEY]
    numbers = request.query.getall("shipmentTrackingNumber", [])
    if len(numbers) > MAX_TRACK_BATCH:
        return problem(400, "Bad request", f"At most {MAX_TRACK_BATCH} shipmentTrackingNumber values",
                       "/expressapi/tracking")
    reference = request.query.get("shipmentReference")
    if reference is not None and not (request.query.get("shipperAccountNumber") == SANDBOX_ACCOUNT
                                      and request.query.get("shipmentReferenceType")):
        return problem(400, "Bad request", "shipmentReference needs shipmentReferenceType and shipperAccountNumber",
                       "/expressapi/tracking")
    found = [b for b in control.bookings.values() if b.awb in numbers or b.reference == reference]
    if not found:
        return problem(404, "No data found", "No shipments found for the given criteria", "/expressapi/tracking")
    with_events = request.query.get("trackingView") != "shipment-details-only"
    now = control.clock.now()
    return web.json_response({"shipments": [_shipment_json(b, now, with_events) for b in found]})


def _pickup_booking(request: web.Request) -> SandboxBooking | None:
    awb = request.app[PICKUPS_KEY].get(request.match_info["number"], "")
    return request.app[CONTROL_KEY].bookings.get(awb)


def _is_collected(booking: SandboxBooking, now: datetime) -> bool:
    return any(step.scan["typeCode"] in ("PU", "SS") for _, step in booking.scans(now))


async def _cancel_pickup(request: web.Request) -> web.Response:
    refused = _refusal(request)
    if refused is not None:
        return refused
    if not (request.query.get("requestorName") and request.query.get("reason")):
        return problem(400, "Bad request", "requestorName and reason are required", request.path)
    booking = _pickup_booking(request)
    if booking is None:
        return problem(404, "Not found", "Pickup not found", request.path)
    now = request.app[CONTROL_KEY].clock.now()
    if _is_collected(booking, now):
        return problem(400, "Bad request", "Pickup already cancelled or completed", request.path)
    booking.interrupt(now, script.cancelled())
    return web.json_response({"message": "Pickup cancelled"})


async def _update_pickup(request: web.Request) -> web.Response:
    refused = _refusal(request)
    if refused is not None:
        return refused
    body = await read_json(request)
    booking = _pickup_booking(request)
    if booking is None:
        return problem(404, "Not found", "Pickup not found", request.path)
    missing = [k for k in ("dispatchConfirmationNumber", "originalShipperAccountNumber", "plannedPickupDateAndTime",
                           "accounts", "customerDetails") if k not in body]
    now = request.app[CONTROL_KEY].clock.now()
    if missing or _is_collected(booking, now):
        detail = f"#: required key [{missing[0]}] not found" if missing else "Pickup already cancelled or completed"
        return problem(400, "Bad request", detail, request.path)
    details = booking.request["customerDetails"]
    booking.restart(now, script.rescheduled(details["shipperDetails"]["postalAddress"].get("cityName", ""),
                                            details["receiverDetails"]["postalAddress"].get("cityName", "")))
    return web.json_response({"dispatchConfirmationNumber": request.match_info["number"], "readyByTime": "12:00",
                              "nextPickupDate": str(body["plannedPickupDateAndTime"])[:10], "warnings": []})


def make_app(control: SandboxControl | None = None) -> web.Application:
    """The DHL sandbox app; its control is `app[carriers.sandbox.CONTROL_KEY]`."""
    app = new_sandbox_app(control)
    app[PICKUPS_KEY] = {}
    app.router.add_post(PREFIX + wire.SHIPMENTS_PATH, _create)
    app.router.add_get(PREFIX + wire.TRACKING_PATH, _track)
    app.router.add_delete(PREFIX + wire.PICKUPS_PATH + "/{number}", _cancel_pickup)
    app.router.add_patch(PREFIX + wire.PICKUPS_PATH + "/{number}", _update_pickup)
    return app


def adapter_settings(base_url: str) -> dict[str, Any]:
    """Settings that point a DhlAdapter at this sandbox (used by the contract suite and demo)."""
    return {"base_url": base_url + PREFIX, "api_key": SANDBOX_KEY, "api_secret": SANDBOX_SECRET,
            "account_number": SANDBOX_ACCOUNT}


def webhook_example(control: SandboxControl, awb: str, secret: str) -> tuple[dict[str, str], bytes]:
    """The Unified push DHL would send for `awb` so far, signed with the subscription secret [U: scheme]."""
    booking = control.bookings[awb]
    now = control.clock.now()
    events = [_unified_event(booking, at, dict(step.scan)) for at, step in reversed(booking.scans(now))]
    details = booking.request["customerDetails"]
    shipment = {"id": awb, "service": "express",
                "origin": {"address": _unified_address(details["shipperDetails"]["postalAddress"])},
                "destination": {"address": _unified_address(details["receiverDetails"]["postalAddress"])},
                "status": events[0] if events else {}, "events": events}
    body = json.dumps({"shipments": [shipment]}).encode()
    signature = wire_tracking.sign_push(body, secret)
    return {"Content-Type": "application/json", wire_tracking.SIGNATURE_HEADER: signature}, body


def _unified_address(postal: dict[str, Any]) -> dict[str, str]:
    return {"countryCode": postal.get("countryCode", ""), "postalCode": postal.get("postalCode", ""),
            "addressLocality": postal.get("cityName", "")}


def _unified_event(booking: SandboxBooking, at: datetime, scan: dict[str, str]) -> dict[str, Any]:
    local = _local(at, _countries(booking)[scan["where"]])
    code = script.UNIFIED_STATUS.get(scan["typeCode"], "failure")
    if scan["typeCode"] == "WC" and scan["where"] == "origin":
        code = script.PICKUP_UNIFIED_STATUS
    return {"timestamp": local.isoformat(timespec="seconds"),
            "location": {"address": {"addressLocality": scan["area"]}},
            "statusCode": code, "status": scan["description"], "description": scan["description"]}


def run(host: str = "127.0.0.1", port: int = 8083, control: SandboxControl | None = None) -> None:
    """Serve the sandbox until interrupted."""
    web.run_app(make_app(control), host=host, port=port)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the DHL sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    args = parser.parse_args()
    run(args.host, args.port)
