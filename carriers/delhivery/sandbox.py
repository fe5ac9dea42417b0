"""A local Delhivery that speaks the B2C wire format, driven by a `SandboxControl`.

Run it alone with `python -m carriers.delhivery.sandbox --port 8081`; the token is `sandbox-token`.
"""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import indian_pincode
from aiohttp import web

from carriers.delhivery import sandbox_script as script
from carriers.delhivery import wire
from carriers.sandbox import CONTROL_KEY, SandboxBooking, SandboxControl, new_sandbox_app, read_json

SANDBOX_TOKEN = "sandbox-token"
TOKEN_KEY = web.AppKey("delhivery_token", str)
MAX_TRACK_BATCH = 50
_NDR_LIMIT = 1000
# Delhivery's duplicate-order rule: the same order with the same content is one order.
_DUPLICATE_FIELDS = ("client", "order", "total_amount", "products_desc", "payment_mode", "name")
# A 1x1 PNG: the real field is a base64 PNG data URI of the AWB barcode.
_BARCODE = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA"
            "60e6kgAAAABJRU5ErkJggg==")
_INCORRECT_STATUS = {"status": False, "error": True, "remark": "Package in incorrect status"}
_PRE_PICKUP = frozenset({("PP", "Open"), ("PP", "Scheduled")})


def _authorize(request: web.Request) -> None:
    header = request.headers.get("Authorization", "")
    if not header:
        raise _json_error(web.HTTPUnauthorized, {"detail": "Authentication credentials were not provided."})
    if header != f"Token {request.app[TOKEN_KEY]}":
        raise _json_error(web.HTTPUnauthorized, {"detail": "Invalid token."})


def _json_error(cls: type[web.HTTPException], body: dict[str, Any]) -> web.HTTPException:
    return cls(text=json.dumps(body), content_type="application/json")


def _control(request: web.Request) -> SandboxControl:
    return request.app[CONTROL_KEY]


def _ist(moment: datetime) -> str:
    """IST without an offset, trimmed to millis, as Delhivery writes it."""
    return moment.astimezone(wire.IST).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _form_payload(raw: bytes) -> dict[str, Any] | str:
    """The create payload, or the rmk Delhivery answers a bad body with."""
    fields = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    if fields.get("format") != ["json"] or "data" not in fields:
        return "format key missing in the post"
    try:
        payload = json.loads(fields["data"][0])
    except json.JSONDecodeError as exc:
        return f"Unterminated string or bad JSON: {exc}"
    if not isinstance(payload, dict) or not isinstance(payload.get("shipments"), list):
        return "shipment list contains no data"
    return payload


async def _create(request: web.Request) -> web.Response:
    _authorize(request)
    payload = _form_payload(await request.read())
    if isinstance(payload, str):
        return web.json_response({"success": False, "rmk": payload, "error": True})
    warehouse = payload.get("pickup_location", {}).get("name", "")
    if not warehouse:
        return web.json_response({"success": False, "rmk": "ClientWarehouse matching query does not exist.",
                                  "error": True})
    # No await from here on: the duplicate check and the insert happen as one step.
    control = _control(request)
    packages = [_book_one(control, s, warehouse) for s in payload["shipments"] if isinstance(s, dict)]
    booked = sum(p["status"] == "Success" for p in packages)
    return web.json_response({
        "success": booked == len(packages) > 0, "upload_wbn": f"UPL{uuid.uuid4().int % 10**18}",
        "package_count": len(packages), "pickups_count": booked, "cod_count": 0, "prepaid_count": 0,
        "replacement_count": 0, "cash_pickups_count": 0, "cash_pickups": 0, "cod_amount": 0,
        "packages": packages,
    })


def _refusal(shipment: dict[str, Any], control: SandboxControl) -> str:
    """Why Delhivery would refuse this shipment, "" when it books it."""
    order, pin = str(shipment.get("order", "")), str(shipment.get("pin", ""))
    if not order or len(order) > 50:
        return f"oid does not pass the validator for order {order!r}"
    if shipment.get("payment_mode") != "Pickup":
        return f"Package type {shipment.get('payment_mode')} not serviceable for this account"
    phone = str(shipment.get("phone", ""))
    if not (phone.isdigit() and len(phone) == 10):
        return f"Incorrect phone number(s) for order {order}"
    if not (control.is_serviceable(pin) and indian_pincode.validate(pin)):
        return f"Crashing while saving package due to exception '{pin} is non serviceable pincode'"
    key = [shipment.get(k) for k in _DUPLICATE_FIELDS]
    if any([b.request.get(k) for k in _DUPLICATE_FIELDS] == key for b in control.bookings.values()):
        return "Duplicate Order Id"
    return ""


def _book_one(control: SandboxControl, shipment: dict[str, Any], warehouse: str) -> dict[str, Any]:
    order = str(shipment.get("order", ""))
    control.record_booking_call(order)
    package = {"refnum": order, "client": shipment.get("client", ""), "payment": "Pickup", "cod_amount": 0}
    refusal = _refusal(shipment, control)
    if refusal:
        return package | {"status": "Fail", "waybill": "", "remarks": [refusal], "serviceable": False}
    awb = f"149{len(control.bookings) + 1:011d}"
    scenario = control.take_scenario()
    pickup_at, hub_at, drop_at = _locations(shipment)
    control.bookings[awb] = SandboxBooking(
        reference=order, awb=awb, booked_at=control.clock.now(),
        script=script.lifecycle(scenario, pickup_at, hub_at, drop_at),
        request=dict(shipment, warehouse=warehouse), scenario=scenario.name if scenario else "happy")
    return package | {"status": "Success", "waybill": awb, "sort_code": _sort_code(shipment), "remarks": [""],
                      "serviceable": True}


def _sort_code(shipment: dict[str, Any]) -> str:
    return f"{str(shipment.get('city', 'XXX'))[:3].upper()}/RVP"


def _locations(shipment: dict[str, Any]) -> tuple[str, str, str]:
    return (f"{shipment.get('city', 'Origin')}_DC ({shipment.get('state', '')})",
            "Bhiwandi_RPC (Maharashtra)",
            f"{shipment.get('return_city', 'Client')}_DC ({shipment.get('return_state', '')})")


def _shipment_json(booking: SandboxBooking, now: datetime) -> dict[str, Any]:
    scans = [dict(step.scan, ScanDateTime=_ist(at), StatusDateTime=_ist(at))
             for at, step in booking.scans(now)]
    last = scans[-1]
    req = booking.request
    return {"Shipment": {
        "AWB": booking.awb, "ReferenceNo": booking.reference, "OrderType": "Pickup",
        "PickUpDate": _ist(booking.booked_at), "PickupLocation": req.get("warehouse", ""),
        "SenderName": req.get("client", ""), "Origin": req.get("city", ""),
        "Destination": req.get("return_city", ""),
        "Consignee": {"Name": req.get("name", ""), "City": req.get("city", ""), "State": req.get("state", ""),
                      "PinCode": req.get("pin", ""), "Country": "India"},
        "Status": {"Status": last["Scan"], "StatusType": last["ScanType"], "StatusCode": last["StatusCode"],
                   "StatusDateTime": last["StatusDateTime"], "StatusLocation": last["ScannedLocation"],
                   "Instructions": last["Instructions"], "RecievedBy": ""},
        "Scans": [{"ScanDetail": s} for s in scans],
    }}


async def _track(request: web.Request) -> web.Response:
    _authorize(request)
    control = _control(request)
    waybills = [w for w in request.query.get("waybill", "").split(",") if w]
    refs = [r for r in request.query.get("ref_ids", "").split(",") if r]
    if len(waybills) > MAX_TRACK_BATCH or len(refs) > MAX_TRACK_BATCH:
        raise _json_error(web.HTTPBadRequest, {"Error": f"At most {MAX_TRACK_BATCH} waybills per request"})
    now = control.clock.now()
    # A waybill with no scan yet is answered like one Delhivery does not know.
    found = [b for b in control.bookings.values() if (b.awb in waybills or b.reference in refs) and b.scans(now)]
    if not found:
        return web.json_response({"Success": False, "Error": "Data does not exists for provided Waybill(s)"})
    return web.json_response({"ShipmentData": [_shipment_json(b, now) for b in found]})


async def _pincode(request: web.Request) -> web.Response:
    _authorize(request)
    pin = request.query.get("filter_codes", "")
    if not (_control(request).is_serviceable(pin) and pin.isdigit() and indian_pincode.validate(pin)):
        return web.json_response({"delivery_codes": []})
    postal = {"pin": int(pin), "city": "Sandbox City", "district": "Sandbox", "state_code": "XX",
              "country_code": "IN", "inc": f"Sandbox_{pin}", "pre_paid": "Y", "cash": "Y", "cod": "Y",
              "pickup": "Y", "repl": "Y", "is_oda": "N", "max_amount": 0.0, "max_weight": 0.0,
              "covid_zone": None, "remarks": ""}
    return web.json_response({"delivery_codes": [{"postal_code": postal}]})


async def _packing_slip(request: web.Request) -> web.Response:
    _authorize(request)
    booking = _control(request).bookings.get(request.query.get("wbns", ""))
    if booking is None:
        return web.json_response({"packages": [], "packages_found": 0})
    req = booking.request
    package = {
        "wbn": booking.awb, "oid": booking.reference, "sort_code": _sort_code(req), "barcode": _BARCODE,
        "name": req.get("name", ""), "address": req.get("add", ""), "pin": req.get("pin", ""),
        "destination": req.get("return_city", ""), "origin": req.get("city", ""), "pt": "Pickup",
        "prd": req.get("products_desc", ""), "weight": req.get("weight", ""), "cl": req.get("client", ""),
    }
    return web.json_response({"packages": [package], "packages_found": 1})


async def _edit(request: web.Request) -> web.Response:
    _authorize(request)
    body = await read_json(request)
    control = _control(request)
    booking = control.bookings.get(str(body.get("waybill", "")))
    if booking is None:
        return web.json_response({"status": False, "error": True, "remark": "Incorrect waybill"})
    now = control.clock.now()
    last = booking.last_scan(now)
    state = (last.scan["ScanType"], last.scan["Scan"]) if last else ("", "")
    answer = {"waybill": booking.awb, "order_id": booking.reference}
    if body.get("cancellation") == "true":
        if state[0] == "CN":
            return web.json_response(answer | {"status": False, "error": "Package is already Canceled",
                                               "remark": "Package is already Canceled"})
        if state not in _PRE_PICKUP:
            return web.json_response(answer | _INCORRECT_STATUS)
        booking.interrupt(now, script.cancelled(last.scan["ScannedLocation"] if last else ""))
        return web.json_response(answer | {"status": True, "remark": "Cancellation has been requested"})
    if state != ("PP", "Scheduled"):
        return web.json_response(answer | _INCORRECT_STATUS)
    booking.request.update({k: str(body[k]) for k in ("name", "phone", "add") if k in body})
    return web.json_response(answer | {"status": True, "remark": "Package details updated"})


async def _ndr_action(request: web.Request) -> web.Response:
    _authorize(request)
    items = (await read_json(request)).get("data") or []
    if len(items) > _NDR_LIMIT:
        raise _json_error(web.HTTPBadRequest, {"error": "Can not update more than 1000 records"})
    control = _control(request)
    now = control.clock.now()
    for item in items:
        booking = control.bookings.get(str(item.get("waybill", "")))
        last = booking.last_scan(now) if booking else None
        # Delhivery answers at once and acts later; an ineligible package is only reported by UPL status.
        if booking and last and item.get("act") == "PICKUP_RESCHEDULE" \
                and last.scan["ScanType"] == "CN" and last.scan["StatusCode"] in script.RESCHEDULABLE_CANCELS:
            booking.restart(now, script.rescheduled(*_locations(booking.request)))
    return web.json_response({"request_id": str(uuid.uuid4())})


def make_app(control: SandboxControl | None = None, *, token: str = SANDBOX_TOKEN) -> web.Application:
    """The Delhivery sandbox app; its control is `app[carriers.sandbox.CONTROL_KEY]`."""
    app = new_sandbox_app(control)
    app[TOKEN_KEY] = token
    app.router.add_post(wire.CREATE_PATH, _create)
    app.router.add_get(wire.TRACK_PATH, _track)
    app.router.add_get(wire.PINCODE_PATH, _pincode)
    app.router.add_get(wire.PACKING_SLIP_PATH, _packing_slip)
    app.router.add_post(wire.EDIT_PATH, _edit)
    app.router.add_post(wire.NDR_PATH, _ndr_action)
    return app


def adapter_settings(base_url: str) -> dict[str, Any]:
    """Settings that point a DelhiveryAdapter at this sandbox (used by the contract suite and demo)."""
    return {"base_url": base_url, "token": SANDBOX_TOKEN, "client_name": "BACKHAUL-DEMO",
            "warehouse": "BACKHAUL-DEMO-WH"}


def webhook_example(control: SandboxControl, awb: str, secret: str) -> tuple[dict[str, str], bytes]:
    """The Scan Push Delhivery would send for the latest scan of `awb`, with the agreed token header."""
    booking = control.bookings[awb]
    now = control.clock.now()
    at, step = booking.scans(now)[-1]
    scan = step.scan
    body = {"Shipment": {"AWB": awb, "ReferenceNo": booking.reference, "NSLCode": scan["StatusCode"],
                         "Sortcode": _sort_code(booking.request), "PickUpDate": _ist(booking.booked_at),
                         "Status": {"Status": scan["Scan"], "StatusType": scan["ScanType"],
                                    "StatusDateTime": _ist(at), "StatusLocation": scan.get("ScannedLocation", ""),
                                    "Instructions": scan.get("Instructions", "")}}}
    headers = {"Authorization": f"Token {secret}", "Content-Type": "application/json"}
    return headers, json.dumps(body).encode()


def run(host: str = "127.0.0.1", port: int = 8081, control: SandboxControl | None = None) -> None:
    """Serve the sandbox until interrupted."""
    web.run_app(make_app(control), host=host, port=port)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the Delhivery sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    run(args.host, args.port)
