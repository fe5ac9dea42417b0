"""A local Ecom Express that speaks the API v2 wire format, driven by a `SandboxControl`.

It serves the api, plapi (tracking) and shipment (label) hosts on one port. Run it alone with
`python -m carriers.ecom_express.sandbox --port 8083`; credentials are in `adapter_settings()`.
"""

from __future__ import annotations

import argparse
import base64
import json
from datetime import datetime
from typing import Any

import indian_pincode
from aiohttp import web
from lxml import etree

from carriers.ecom_express import sandbox_script as script
from carriers.ecom_express import wire
from carriers.sandbox import CONTROL_KEY, SandboxBooking, SandboxControl, new_sandbox_app
from carriers.sandbox_label import sample_label

USERNAME = "sandbox-user"
PASSWORD = "sandbox-password"
AWB_STOCK_KEY = web.AppKey("ecom_express_awb_stock", dict[str, bool])  # issued REV AWB -> used
_HUB = ("BHIWANDI", "BWD")
_BAD_LOGIN = {"reason": "Invalid username or password"}
# Codes after which the parcel has left the customer: no cancel any more.
_PICKED = frozenset({"0011", "400", "002", "003", "004", "005", "303", "006", "999"})


def _control(request: web.Request) -> SandboxControl:
    return request.app[CONTROL_KEY]


def _is_logged_in(fields: Any) -> bool:
    return (fields.get("username"), fields.get("password")) == (USERNAME, PASSWORD)


def _is_served(control: SandboxControl, pin: str) -> bool:
    return pin.isdigit() and indian_pincode.validate(pin) and control.is_serviceable(pin)


def _code(pin: str) -> str:
    """A fake but stable location code for a PIN."""
    return "".join(chr(ord("A") + int(d)) for d in pin[:3])


async def _pincodes(request: web.Request) -> web.Response:
    form = await request.post()
    if not _is_logged_in(form):
        return web.json_response(_BAD_LOGIN)
    pin = str(form.get("pincode", ""))
    if not _is_served(_control(request), pin):
        return web.json_response([])
    return web.json_response([{"pincode": int(pin), "city": f"SANDBOX {pin}", "state": "XX", "dccode": _code(pin),
                               "city_code": _code(pin), "state_code": "XX", "route": f"{_code(pin)}/01",
                               "active": True}])


async def _fetch_awb(request: web.Request) -> web.Response:
    form = await request.post()
    if not _is_logged_in(form):
        return web.json_response(_BAD_LOGIN)
    if form.get("type") != "REV":
        return web.json_response({"reason": "Only REV AWBs are enabled for this sandbox account"})
    stock = request.app[AWB_STOCK_KEY]
    count = max(1, min(int(str(form.get("count", "1")) or 1), 100))
    awbs = [f"{102000000 + len(stock) + i + 1}" for i in range(count)]
    stock.update(dict.fromkeys(awbs, False))
    return web.json_response({"reference_id": len(stock), "success": "yes", "awb": [int(a) for a in awbs]})


def _manifest_answer(awb: str, order: str, reason: str = "") -> web.Response:
    bill = {"success": "False" if reason else "True", "airwaybill_number": awb, "order_number": order,
            "error_list": {"reason_comment": reason}}
    return web.json_response({"RESPONSE-OBJECTS": {"AIRWAYBILL-OBJECTS": {"AIRWAYBILL": bill}}})


def _refusal(request: web.Request, shipment: dict[str, Any]) -> str:
    """Why Ecom Express would refuse this reverse manifest, "" when it books it."""
    control, stock = _control(request), request.app[AWB_STOCK_KEY]
    awb, order = str(shipment.get("AWB_NUMBER", "")), str(shipment.get("ORDER_NUMBER", ""))
    if not order:
        return "ORDER_NUMBER is mandatory"
    if control.bookings_for(order):
        return f"Order Number already exists: {order}"
    if stock.get(awb) is not False:
        return f"AWB_NUMBER {awb} is not a valid unused REV airwaybill"
    for key in ("REVPICKUP_PINCODE", "DROP_PINCODE"):
        if not _is_served(control, str(shipment.get(key, ""))):
            return f"{key} {shipment.get(key)} is not serviceable"
    return ""


async def _manifest(request: web.Request) -> web.Response:
    form = await request.post()
    if not _is_logged_in(form):
        return web.json_response(_BAD_LOGIN)
    try:
        shipment = json.loads(str(form.get("json_input", "")))["ECOMEXPRESS-OBJECTS"]["SHIPMENT"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return web.json_response({"shipments": [{"reason": "Invalid json_input", "success": ""}]})
    # No await from here on: the duplicate check and the insert happen as one step.
    control = _control(request)
    awb, order = str(shipment.get("AWB_NUMBER", "")), str(shipment.get("ORDER_NUMBER", ""))
    control.record_booking_call(order)
    refusal = _refusal(request, shipment)
    if refusal:
        return _manifest_answer(awb, order, refusal)
    request.app[AWB_STOCK_KEY][awb] = True
    scenario = control.take_scenario()
    origin, drop = _places(shipment)
    control.bookings[awb] = SandboxBooking(
        reference=order, awb=awb, booked_at=control.clock.now(), request=shipment,
        script=script.lifecycle(scenario, origin, _HUB, drop), scenario=scenario.name if scenario else "happy")
    return _manifest_answer(awb, order)


def _places(shipment: dict[str, Any]) -> tuple[script.Place, script.Place]:
    pickup_pin, drop_pin = str(shipment.get("REVPICKUP_PINCODE", "")), str(shipment.get("DROP_PINCODE", ""))
    return ((str(shipment.get("REVPICKUP_CITY") or f"SANDBOX {pickup_pin}").upper(), _code(pickup_pin)),
            (f"SANDBOX {drop_pin}", _code(drop_pin)))


def _cancel_one(control: SandboxControl, awb: str) -> dict[str, Any]:
    booking = control.bookings.get(awb)
    answer = {"awb": awb, "order_number": booking.reference if booking else "", "success": False}
    if booking is None:
        return answer | {"reason": "AWB number not found"}
    now = control.clock.now()
    codes = [step.scan["reason_code_number"] for _, step in booking.scans(now)]
    if script.CANCELLED in codes:
        return answer | {"reason": "Shipment already cancelled"}
    if _PICKED & set(codes):
        return answer | {"reason": "Shipment Cannot Be Cancelled As Shipment Already Picked Up"}
    origin, _ = _places(booking.request)
    booking.interrupt(now, script.cancelled(*origin))
    return answer | {"success": True, "reason": ""}


async def _cancel(request: web.Request) -> web.Response:
    form = await request.post()
    if not _is_logged_in(form):
        return web.json_response(_BAD_LOGIN)
    awbs = [a for a in str(form.get("awbs", "")).split(",") if a]
    return web.json_response([_cancel_one(_control(request), a) for a in awbs])


def _stamp(moment: datetime) -> str:
    return moment.astimezone(wire.IST).strftime("%d %b, %Y, %H:%M")


def _field(parent: Any, name: str, text: str | None, kind: str = "CharField") -> Any:
    field = etree.SubElement(parent, "field", type=kind, name=name)
    field.text = text
    return field


def _awb_object(root: Any, booking: SandboxBooking, now: datetime) -> None:
    shipment, scans = booking.request, booking.scans(now)
    last = scans[-1][1].scan if scans else {}
    obj = etree.SubElement(root, "object", pk=booking.awb, model="awb")
    origin, drop = _places(shipment)
    for name, text in (("awb_number", booking.awb), ("orderid", booking.reference),
                       ("actual_weight", str(shipment.get("ACTUAL_WEIGHT", ""))), ("origin", origin[0]),
                       ("destination", drop[0]), ("consignee", str(shipment.get("DROP_NAME", ""))),
                       ("pickupdate", booking.booked_at.astimezone(wire.IST).strftime("%d-%b-%Y")),
                       ("status", last.get("status", "Soft data uploaded")),
                       ("reason_code_number", last.get("reason_code_number", "")),
                       ("last_update_datetime", scans[-1][0].astimezone(wire.IST).strftime("%d-%b-%Y %H:%M")
                        if scans else ""), ("ref_awb", ""), ("rts_shipment", "0"),
                       ("rts_reason_code_number", ""), ("rts_last_update", "")):
        _field(obj, name, text)
    holder = _field(obj, "scans", None)
    for at, step in reversed(scans):  # the latest scan first
        stage = etree.SubElement(holder, "object", pk=f"{booking.awb}-{int(at.timestamp())}", model="scan_stages")
        _field(stage, "updated_on", _stamp(at), "DateTimeField")
        for name in ("status", "reason_code", "reason_code_number", "location", "location_city"):
            _field(stage, name, step.scan[name])
        _field(stage, "scan_status", "HOLD")
        _field(stage, "city_name", step.scan["location_city"])
        _field(stage, "Employee", "SANDBOX FE")


async def _track(request: web.Request) -> web.Response:
    if not _is_logged_in(request.query):
        raise web.HTTPUnauthorized(text=json.dumps(_BAD_LOGIN), content_type="application/json")
    awbs = [a for a in request.query.get("awb", "").split(",") if a]
    orders = [o for o in request.query.get("order", "").split(",") if o]
    if len(awbs) > wire.MAX_TRACK_BATCH or len(orders) > wire.MAX_TRACK_BATCH:
        raise web.HTTPBadRequest(text=f"At most {wire.MAX_TRACK_BATCH} AWBs per request")
    control = _control(request)
    root = etree.Element("ecomexpress-objects", version="1.0")
    for booking in control.bookings.values():
        if booking.awb in awbs or booking.reference in orders:
            _awb_object(root, booking, control.clock.now())
    return web.Response(body=etree.tostring(root, xml_declaration=True, encoding="UTF-8"), content_type="text/xml")


async def _label(request: web.Request) -> web.Response:
    form = await request.post()
    if not _is_logged_in(form):
        return web.json_response(_BAD_LOGIN)
    booking = _control(request).bookings.get(str(form.get("awb", "")))
    if booking is None:
        return web.json_response({"reason": "AWB not found"})
    pdf = sample_label("Ecom Express", [(booking.awb, booking.reference)])
    return web.Response(body=pdf, content_type="application/pdf")


def make_app(control: SandboxControl | None = None) -> web.Application:
    """The Ecom Express sandbox app; its control is `app[carriers.sandbox.CONTROL_KEY]`."""
    app = new_sandbox_app(control)
    app[AWB_STOCK_KEY] = {}
    app.router.add_post(wire.PINCODE_PATH, _pincodes)
    app.router.add_post(wire.FETCH_AWB_PATH, _fetch_awb)
    app.router.add_post(wire.MANIFEST_PATH, _manifest)
    app.router.add_post(wire.CANCEL_PATH, _cancel)
    app.router.add_get(wire.TRACK_PATH, _track)
    app.router.add_post(wire.LABEL_PATH, _label)
    return app


def adapter_settings(base_url: str) -> dict[str, Any]:
    """Settings that point an EcomExpressAdapter's three hosts at this sandbox."""
    return {"base_url": base_url, "tracking_url": base_url, "label_url": base_url, "username": USERNAME,
            "password": PASSWORD}


def webhook_example(control: SandboxControl, awb: str, secret: str) -> tuple[dict[str, str], bytes]:
    """The status push Ecom Express would send for the latest scan of `awb`, with Basic auth."""
    booking = control.bookings[awb]
    at, step = booking.scans(control.clock.now())[-1]
    scan = step.scan
    body = {"awb": awb, "datetime": at.astimezone(wire.IST).strftime("%Y-%m-%d %H:%M:%S"),
            "status": scan["reason_code_number"], "reason_code": scan["reason_code"],
            "reason_code_number": scan["reason_code_number"], "location": scan["location"],
            "Employee": "SANDBOX FE", "status_update_number": str(int(at.timestamp())),
            "order_number": booking.reference, "city": scan["location_city"], "ref_awb": ""}
    token = base64.b64encode(f"ecomexpress:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}, json.dumps(body).encode()


def run(host: str = "127.0.0.1", port: int = 8083, control: SandboxControl | None = None) -> None:
    """Serve the sandbox until interrupted."""
    web.run_app(make_app(control), host=host, port=port)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the Ecom Express sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    args = parser.parse_args()
    run(args.host, args.port)
