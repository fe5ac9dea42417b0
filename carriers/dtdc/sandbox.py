"""A local DTDC that speaks its order, cancel, label and tracking wire formats, driven by a `SandboxControl`.

One app stands in for DTDC's three hosts: order upload and cancel/label under `/api/customer/…`,
tracking under `/dtdc-api/…`. Run it alone with `python -m carriers.dtdc.sandbox --port 8086`.
"""

from __future__ import annotations

import argparse
import base64
import json
from datetime import datetime
from typing import Any

import indian_pincode
from aiohttp import web

from carriers.dtdc import sandbox_script as script
from carriers.dtdc import wire
from carriers.sandbox import CONTROL_KEY, SandboxBooking, SandboxControl, TokenIssuer, new_sandbox_app, read_json
from carriers.sandbox_label import sample_label

SANDBOX_API_KEY = "sandbox-api-key"
SANDBOX_CUSTOMER = "GL0001"
SANDBOX_TRACK_USER = "GL0001_trk_json"
SANDBOX_TRACK_PASSWORD = "sandbox-track-password"
TRACKING_PREFIX = "/dtdc-api"
ISSUER_KEY = web.AppKey("dtdc_tokens", TokenIssuer)
_TOKEN_LIFETIME_S = 24 * 3600
_NO_DATA = "NO DATA FOUND FOR THIS CNNO NUMBER"


def _control(request: web.Request) -> SandboxControl:
    return request.app[CONTROL_KEY]


def _json_error(cls: type[web.HTTPException], body: dict[str, Any]) -> web.HTTPException:
    return cls(text=json.dumps(body), content_type="application/json")


def _authorize_api_key(request: web.Request) -> None:
    if request.headers.get("api-key") != SANDBOX_API_KEY:
        raise _json_error(web.HTTPUnauthorized, {"status": "ERROR", "message": "Unauthorized: invalid api-key"})


def _date_time(moment: datetime) -> tuple[str, str]:
    local = moment.astimezone(wire.IST)
    return local.strftime("%d%m%Y"), local.strftime("%H%M")


async def _softdata(request: web.Request) -> web.Response:
    _authorize_api_key(request)
    consignments = (await read_json(request)).get("consignments")
    if not isinstance(consignments, list) or not consignments or len(consignments) > wire.MAX_CONSIGNMENTS:
        raise _json_error(web.HTTPBadRequest, {"status": "ERROR", "message": "consignments must hold 1 to 20 items"})
    # No await from here on: the duplicate check and the insert happen as one step.
    control = _control(request)
    data = [_book_one(control, c) if isinstance(c, dict) else {"success": False, "message": "not an object"}
            for c in consignments]
    return web.json_response({"status": "OK", "data": data})


def _refusal(consignment: dict[str, Any], control: SandboxControl) -> str:
    """Why DTDC would refuse this consignment, "" when it books it."""
    reference = str(consignment.get("customer_reference_number", ""))
    origin = consignment.get("origin_details") or {}
    pin = str(origin.get("pincode", ""))
    if consignment.get("customer_code") != SANDBOX_CUSTOMER:
        return f"Invalid customer code {consignment.get('customer_code')!r}"
    if not reference:
        return "customer_reference_number is mandatory"
    if consignment.get("consignment_type") != wire.CONSIGNMENT_TYPE_REVERSE:
        return "this sandbox books reverse consignments only"
    phone = str(origin.get("phone", ""))
    if not (phone.isdigit() and len(phone) == 10):
        return f"Invalid origin phone number for {reference}"
    if not (control.is_serviceable(pin) and indian_pincode.validate(pin)):
        return f"Origin pincode {pin} is not serviceable"
    if control.bookings_for(reference):
        return f"Consignment already exists with customer reference number {reference}"
    return ""


def _book_one(control: SandboxControl, consignment: dict[str, Any]) -> dict[str, Any]:
    reference = str(consignment.get("customer_reference_number", ""))
    control.record_booking_call(reference)
    refusal = _refusal(consignment, control)
    if refusal:
        return {"success": False, "customer_reference_number": reference, "message": refusal}
    awb = f"7D{len(control.bookings) + 1:09d}"
    scenario = control.take_scenario()
    control.bookings[awb] = SandboxBooking(
        reference=reference, awb=awb, booked_at=control.clock.now(),
        script=script.lifecycle(scenario, *_locations(consignment)),
        request=consignment, scenario=scenario.name if scenario else "happy")
    return {"success": True, "reference_number": awb, "courier_partner": None, "courier_account": "",
            "courier_partner_reference_number": None, "chargeable_weight": float(consignment.get("weight") or 0),
            "self_pickup_enabled": False, "customer_reference_number": reference,
            "pieces": [{"reference_number": f"{awb}001", "product_code": ""}], "barCodeData": ""}


def _locations(consignment: dict[str, Any]) -> tuple[str, str, str]:
    origin = str((consignment.get("origin_details") or {}).get("city", "ORIGIN")).upper()
    destination = str((consignment.get("destination_details") or {}).get("city", "DESTINATION")).upper()
    return f"{origin} BRANCH", "BANGALORE SURFACE APEX", f"{destination} BRANCH"


async def _cancel(request: web.Request) -> web.Response:
    _authorize_api_key(request)
    body = await read_json(request)
    if body.get("customerCode") != SANDBOX_CUSTOMER or not isinstance(body.get("AWBNo"), list):
        raise _json_error(web.HTTPBadRequest, {"status": "ERROR", "message": "AWBNo and customerCode are mandatory"})
    control = _control(request)
    done, failures = [], []
    for awb in map(str, body["AWBNo"]):
        refusal = _cancel_one(control, awb)
        if refusal:
            failures.append({"success": False, "reference_number": awb, "message": refusal})
        else:
            done.append({"success": True, "reference_number": awb})
    answer: dict[str, Any] = {"status": "OK", "success": not failures, "successConsignments": done}
    return web.json_response(answer | ({"failures": failures} if failures else {}))


def _cancel_one(control: SandboxControl, awb: str) -> str:
    booking = control.bookings.get(awb)
    if booking is None:
        return f"Consignment {awb} not found"
    now = control.clock.now()
    last = booking.last_scan(now)
    code = last.scan["strCode"] if last else "BKD"
    if code == wire.CANCELLED:
        return f"Consignment {awb} is already cancelled"
    if code not in script.CANCELLABLE:
        return f"Consignment {awb} cannot be cancelled after pickup"
    booking.interrupt(now, script.cancelled(last.scan["strOrigin"] if last else ""))
    return ""


async def _label(request: web.Request) -> web.Response:
    _authorize_api_key(request)
    awb = request.query.get("reference_number", "")
    booking = _control(request).bookings.get(awb)
    if booking is None:
        return web.json_response({"status": "ERROR", "message": f"No consignment found for {awb}"})
    pdf = _label_pdf(booking)
    if request.query.get("label_format", "pdf") == "base64":
        return web.json_response({"referenceNumber": awb, "label": base64.b64encode(pdf).decode()})
    return web.Response(body=pdf, content_type="application/pdf")


def _label_pdf(booking: SandboxBooking) -> bytes:
    return sample_label("DTDC", [(booking.awb, booking.reference)])


async def _authenticate(request: web.Request) -> web.Response:
    issued = request.app[ISSUER_KEY].issue(request.query.get("username", ""), request.query.get("password", ""))
    if issued is None:
        return web.Response(status=401, text="Unauthorized")
    return web.Response(text=issued[0])


async def _track(request: web.Request) -> web.Response:
    if not request.app[ISSUER_KEY].is_valid(f"Bearer {request.headers.get('X-Access-Token', '')}"):
        return web.json_response({"statusCode": 401, "statusFlag": False, "status": "FAILED",
                                  "errorDetails": [{"name": "strError", "value": "Unauthorized"}]}, status=401)
    body = await read_json(request)
    control, number = _control(request), str(body.get("strcnno", ""))
    by_reference = body.get("trkType") == "reference"
    found = [b for b in control.bookings.values() if (b.reference if by_reference else b.awb) == number]
    if not found:
        return web.json_response({"statusCode": 200, "statusFlag": False, "status": "FAILED",
                                  "errorDetails": [{"name": "strShipmentNo", "value": number},
                                                   {"name": "strError", "value": _NO_DATA}],
                                  "trackHeader": None, "trackDetails": None})
    return web.json_response(_track_json(found[0], control.clock.now(), body.get("addtnlDtl") == "Y"))


def _track_json(booking: SandboxBooking, now: datetime, with_details: bool) -> dict[str, Any]:
    actions = []
    for at, step in booking.scans(now):
        day, time_of_day = _date_time(at)
        actions.append(dict(step.scan, strActionDate=day, strActionTime=time_of_day))
    last = actions[-1]
    booked_day, booked_time = _date_time(booking.booked_at)
    header = {
        "strShipmentNo": booking.awb, "strRefNo": booking.reference, "strCNType": "CP",
        "strCNTypeCode": SANDBOX_CUSTOMER, "strCNTypeName": "BACKHAUL SANDBOX", "strCNProduct": "B2C PRIORITY",
        "strModeCode": "", "strMode": "",
        "strCNProdCODFOD": "", "strOrigin": _locations(booking.request)[0], "strOriginRemarks": "Booked By",
        "strBookedDate": booked_day, "strBookedTime": booked_time, "strPieces": "1", "strWeightUnit": "KG",
        "strWeight": str(booking.request.get("weight", "")), "strDestination": _locations(booking.request)[2],
        "strStatus": last["strAction"], "strStatusTransOn": last["strActionDate"],
        "strStatusTransTime": last["strActionTime"], "strStatusRelCode": "", "strStatusRelName": "",
        "strRemarks": last["sTrRemarks"], "strNoOfAttempts": "0", "strRtoNumber": "",
    }
    return {"statusCode": 200, "statusFlag": True, "status": "SUCCESS", "errorDetails": None,
            "trackHeader": header, "trackDetails": actions if with_details else []}


def make_app(control: SandboxControl | None = None) -> web.Application:
    """The DTDC sandbox app; its control is `app[carriers.sandbox.CONTROL_KEY]`."""
    app = new_sandbox_app(control)
    app[ISSUER_KEY] = TokenIssuer(app[CONTROL_KEY], SANDBOX_TRACK_USER, SANDBOX_TRACK_PASSWORD,
                                  lifetime_s=_TOKEN_LIFETIME_S)
    app.router.add_post(wire.SOFTDATA_PATH, _softdata)
    app.router.add_post(wire.CANCEL_PATH, _cancel)
    app.router.add_get(wire.LABEL_PATH, _label)
    app.router.add_get(TRACKING_PREFIX + wire.AUTH_PATH, _authenticate)
    app.router.add_post(TRACKING_PREFIX + wire.TRACK_PATH, _track)
    return app


def adapter_settings(base_url: str) -> dict[str, Any]:
    """Settings that point a DtdcAdapter's three hosts at this sandbox (contract suite and demo)."""
    return {"base_url": base_url, "pxapi_url": base_url, "tracking_url": base_url + TRACKING_PREFIX,
            "api_key": SANDBOX_API_KEY, "customer_code": SANDBOX_CUSTOMER,
            "tracking_username": SANDBOX_TRACK_USER, "tracking_password": SANDBOX_TRACK_PASSWORD}


def run(host: str = "127.0.0.1", port: int = 8086, control: SandboxControl | None = None) -> None:
    """Serve the sandbox until interrupted."""
    web.run_app(make_app(control), host=host, port=port)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the DTDC sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8086)
    args = parser.parse_args()
    run(args.host, args.port)
