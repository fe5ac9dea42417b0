"""A local USPS that speaks the APIs v3 wire (oauth2, payments, labels, carrier pickup, tracking).

Run it alone with `python -m carriers.usps.sandbox --port 8084`; the client id/secret are
`sandbox-client`/`sandbox-secret`.
"""

from __future__ import annotations

import argparse
import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from carriers.sandbox import CONTROL_KEY, SandboxBooking, SandboxControl, TokenIssuer, new_sandbox_app, read_json
from carriers.usps import sandbox_script as script
from carriers.usps import wire

CLIENT_ID, CLIENT_SECRET = "sandbox-client", "sandbox-secret"
TOKEN_LIFETIME_S = 8 * 3600
ETAG_LIFETIME = timedelta(hours=1)
LABEL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
             b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 288 432]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
_ZONES = {"NY": "America/New_York", "NJ": "America/New_York", "FL": "America/New_York", "TN": "America/Chicago",
          "TX": "America/Chicago", "IL": "America/Chicago", "CO": "America/Denver", "CA": "America/Los_Angeles",
          "NV": "America/Los_Angeles", "WA": "America/Los_Angeles"}


@dataclass
class _Pickup:
    body: dict[str, Any]
    etag: str = ""
    etag_expires: datetime | None = None


@dataclass
class _State:
    issuer: TokenIssuer
    payment_tokens: set[str] = field(default_factory=set)
    labels_by_key: dict[str, str] = field(default_factory=dict)  # X-Idempotency-Key -> tracking number
    pickups: dict[str, _Pickup] = field(default_factory=dict)


STATE_KEY = web.AppKey("usps_state", _State)


def error(status: int, message: str, detail: str, api: str) -> web.Response:
    """USPS's error envelope."""
    body = {"apiVersion": api, "error": {"code": str(status), "message": message,
                                         "errors": [{"status": str(status), "title": message, "detail": detail}]}}
    return web.json_response(body, status=status)


def _unauthorized(request: web.Request, api: str) -> web.Response | None:
    if not request.app[STATE_KEY].issuer.is_valid(request.headers.get("Authorization", "")):
        return error(401, "Unauthorized", "The access token is missing, invalid or expired", api)
    return None


async def _token(request: web.Request) -> web.Response:
    form = await request.post()
    if form.get("grant_type") != "client_credentials":
        return web.json_response({"error": "unsupported_grant_type", "error_description": "Grant type not supported"},
                                 status=400)
    issued = request.app[STATE_KEY].issuer.issue(str(form.get("client_id", "")), str(form.get("client_secret", "")))
    if issued is None:
        return web.json_response({"error": "invalid_client", "error_description": "Client authentication failed."},
                                 status=401)
    token, lifetime = issued
    now_ms = int(request.app[CONTROL_KEY].clock.now().timestamp() * 1000)
    return web.json_response({"access_token": token, "token_type": "Bearer", "issued_at": now_ms,
                              "expires_in": lifetime, "status": "approved", "scope": str(form.get("scope", "")),
                              "issuer": "api.usps.com", "client_id": CLIENT_ID, "application_name": "Backhaul"})


async def _payment(request: web.Request) -> web.Response:
    refused = _unauthorized(request, "/payments/v3")
    if refused is not None:
        return refused
    roles = (await read_json(request)).get("roles") or []
    if {r.get("roleName") for r in roles if isinstance(r, dict)} != {"LABEL_OWNER", "PAYER"}:
        return error(400, "Bad Request", "roles must name a LABEL_OWNER and a PAYER", "/payments/v3")
    token = f"pat-{uuid.uuid4().hex}"
    request.app[STATE_KEY].payment_tokens.add(token)
    return web.json_response({"paymentAuthorizationToken": token})


def _multipart(metadata: dict[str, Any]) -> web.Response:
    boundary = uuid.uuid4().hex
    parts = [("returnLabelMetadata", "application/json", json.dumps(metadata)),
             ("returnLabelImage", "text/plain", base64.b64encode(LABEL_PDF).decode())]
    body = "".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\nContent-Type: {kind}\r\n\r\n"
                   f"{text}\r\n" for name, kind, text in parts) + f"--{boundary}--\r\n"
    return web.Response(body=body.encode(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


async def _return_label(request: web.Request) -> web.Response:
    refused = _unauthorized(request, "/labels/v3")
    if refused is not None:
        return refused
    state = request.app[STATE_KEY]
    if request.headers.get(wire.PAYMENT_HEADER) not in state.payment_tokens:
        return error(401, "Unauthorized", f"{wire.PAYMENT_HEADER} is missing or invalid", "/labels/v3")
    body = await read_json(request)
    missing = [k for k in ("toAddress", "fromAddress", "packageDescription") if k not in body]
    if missing:
        return error(400, "Bad Request", f"{missing[0]} is required", "/labels/v3")
    control = request.app[CONTROL_KEY]
    refs = body["packageDescription"].get("customerReference") or [{}]
    reference = str(refs[0].get("referenceNumber", ""))
    control.record_booking_call(reference)
    # No await from here on: the idempotency check and the insert happen as one step.
    key = request.headers.get(wire.IDEMPOTENCY_HEADER, "")
    awb = state.labels_by_key.get(key) if key else None
    if awb is None:
        awb = f"92050901{len(control.bookings) + 1:014d}"
        scenario = control.take_scenario()
        control.bookings[awb] = SandboxBooking(reference=reference, awb=awb, booked_at=control.clock.now(),
                                               script=script.lifecycle(scenario), request=body,
                                               scenario=scenario.name if scenario else "happy")
        if key:
            state.labels_by_key[key] = awb
    return _multipart({"trackingNumber": awb, "postage": 7.45, "SKU": "DVXR0XXXXC04010", "zone": "05",
                       "mailingDate": control.bookings[awb].booked_at.date().isoformat(),
                       "serviceTypeCode": "016", "weightUOM": "lb",
                       "weight": body["packageDescription"].get("weight"), "fees": [], "links": []})


async def _cancel_label(request: web.Request) -> web.Response:
    refused = _unauthorized(request, "/labels/v3")
    if refused is not None:
        return refused
    control = request.app[CONTROL_KEY]
    booking = control.bookings.get(request.match_info["number"])
    if booking is None:
        return error(404, "Not Found", "Tracking number not found", "/labels/v3")
    now = control.clock.now()
    codes = [step.scan["eventCode"] for _, step in booking.scans(now)]
    if "44" in codes:
        return web.json_response({"trackingNumber": booking.awb, "status": "CANCELED"})
    if "03" in codes:  # accepted: postage is used, so USPS opens a refund dispute instead
        return web.json_response({"trackingNumber": booking.awb, "status": "DISPUTED", "disputeId": "104660"})
    booking.interrupt(now, script.cancelled())
    return web.json_response({"trackingNumber": booking.awb, "status": "CANCELED"})


async def _create_pickup(request: web.Request) -> web.Response:
    refused = _unauthorized(request, "/pickup/v3")
    if refused is not None:
        return refused
    body = await read_json(request)
    missing = [k for k in ("pickupDate", "pickupAddress", "packages", "estimatedWeight", "pickupLocation")
               if k not in body]
    if missing:
        return error(400, "Bad Request", f"{missing[0]} is required", "/pickup/v3")
    zip_code = str(body["pickupAddress"].get("address", {}).get("ZIPCode", ""))
    if not request.app[CONTROL_KEY].is_serviceable(zip_code):
        return error(400, "Bad Request", "Carrier Pickup is not available for this address", "/pickup/v3")
    state = request.app[STATE_KEY]
    number = f"WTC{len(state.pickups) + 1:09d}"
    state.pickups[number] = _Pickup(body)
    return _pickup_answer(request, number, state.pickups[number])


def _pickup_answer(request: web.Request, number: str, pickup: _Pickup) -> web.Response:
    pickup.etag = f'"{uuid.uuid4().hex[:16]}"'
    pickup.etag_expires = request.app[CONTROL_KEY].clock.now() + ETAG_LIFETIME
    answer = {"confirmationNumber": number, "pickupDate": pickup.body["pickupDate"],
              "carrierPickupRequest": pickup.body}
    return web.json_response(answer, headers={"ETag": pickup.etag})


async def _get_pickup(request: web.Request) -> web.Response:
    refused = _unauthorized(request, "/pickup/v3")
    if refused is not None:
        return refused
    number = request.match_info["number"]
    pickup = request.app[STATE_KEY].pickups.get(number)
    if pickup is None:
        return error(404, "Not Found", "Pickup not found", "/pickup/v3")
    return _pickup_answer(request, number, pickup)


def _precondition(request: web.Request) -> tuple[str, _Pickup] | web.Response:
    number = request.match_info["number"]
    pickup = request.app[STATE_KEY].pickups.get(number)
    if pickup is None:
        return error(404, "Not Found", "Pickup not found", "/pickup/v3")
    offered = request.headers.get("If-Match")
    if not offered:
        return error(428, "Precondition Required", "If-Match with the ETag from GET is required", "/pickup/v3")
    expires = pickup.etag_expires
    if offered != pickup.etag or expires is None or request.app[CONTROL_KEY].clock.now() >= expires:
        return error(412, "Precondition Failed", "ETag does not match or has expired", "/pickup/v3")
    pickup.etag, pickup.etag_expires = "", None  # an ETag is good for one change
    return number, pickup


async def _update_pickup(request: web.Request) -> web.Response:
    refused = _unauthorized(request, "/pickup/v3")
    if refused is not None:
        return refused
    body = await read_json(request)
    found = _precondition(request)
    if isinstance(found, web.Response):
        return found
    number, pickup = found
    pickup.body = body
    return _pickup_answer(request, number, pickup)


async def _delete_pickup(request: web.Request) -> web.Response:
    refused = _unauthorized(request, "/pickup/v3")
    if refused is not None:
        return refused
    found = _precondition(request)
    if isinstance(found, web.Response):
        return found
    del request.app[STATE_KEY].pickups[found[0]]
    return web.Response(status=200)


def _local(moment: datetime, state: str) -> datetime:
    return moment.astimezone(ZoneInfo(_ZONES.get(state, "America/New_York")))


def _event(booking: SandboxBooking, at: datetime, scan: dict[str, str]) -> dict[str, Any]:
    place = booking.request["fromAddress" if scan["where"] == "origin" else "toAddress"]
    local = _local(at, place.get("state", ""))
    offset = local.strftime("%z")
    return {"eventType": scan["eventType"], "eventTimestamp": local.strftime("%Y-%m-%dT%H:%M:%S"),
            "GMTTimestamp": at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "GMTOffset": f"{offset[:3]}:{offset[3:]}", "eventCountry": None, "eventCity": place.get("city", ""),
            "eventState": place.get("state", ""), "eventZIP": place.get("ZIPCode", ""), "firm": None, "name": None,
            "authorizedAgent": False, "eventCode": scan["eventCode"], "actionCode": None, "reasonCode": None}


def _settle(app: web.Application, booking: SandboxBooking) -> None:
    """Turn a label no Carrier Pickup was scheduled for into a drop-off, once, when it is first tracked.

    USPS pickups carry no tracking number, so the label's from-address finds its pickup; the adapter
    schedules it right after the label, before anyone tracks.
    """
    if booking.request.get("settled"):
        return
    origin = booking.request["fromAddress"]
    place = (origin.get("streetAddress"), origin.get("ZIPCode"))
    has_pickup = any((p.body["pickupAddress"].get("address") or {}).get("streetAddress") == place[0]
                     and (p.body["pickupAddress"].get("address") or {}).get("ZIPCode") == place[1]
                     for p in app[STATE_KEY].pickups.values())
    if not has_pickup:
        booking.script = script.dropped_off(booking.script)
    booking.request["settled"] = True


async def _track(request: web.Request) -> web.Response:
    refused = _unauthorized(request, "/tracking/v3")
    if refused is not None:
        return refused
    control = request.app[CONTROL_KEY]
    booking = control.bookings.get(request.match_info["number"])
    if booking is None:
        return error(404, "Not Found", "The tracking number could not be found", "/tracking/v3")
    _settle(request.app, booking)
    events = [_event(booking, at, dict(step.scan)) for at, step in reversed(booking.scans(control.clock.now()))]
    origin, destination = booking.request["fromAddress"], booking.request["toAddress"]
    latest = events[0]["eventType"] if events else ""
    return web.json_response({
        "trackingNumber": booking.awb, "mailClass": "USPS Ground Advantage Return Service", "mailType": "DOMESTIC_MAIL",
        "serviceTypeCode": "016", "status": latest, "statusCategory": latest, "statusSummary": latest,
        "originCity": origin.get("city"), "originState": origin.get("state"), "originZIP": origin.get("ZIPCode"),
        "destinationCity": destination.get("city"), "destinationState": destination.get("state"),
        "destinationZIP": destination.get("ZIPCode"), "trackingEvents": events})


def make_app(control: SandboxControl | None = None) -> web.Application:
    """The USPS sandbox app; its control is `app[carriers.sandbox.CONTROL_KEY]`."""
    app = new_sandbox_app(control)
    app[STATE_KEY] = _State(TokenIssuer(app[CONTROL_KEY], CLIENT_ID, CLIENT_SECRET, lifetime_s=TOKEN_LIFETIME_S))
    app.router.add_post(wire.TOKEN_PATH, _token)
    app.router.add_post(wire.PAYMENT_PATH, _payment)
    app.router.add_post(wire.RETURN_LABEL_PATH, _return_label)
    app.router.add_delete(wire.LABEL_PATH + "/{number}", _cancel_label)
    app.router.add_post(wire.PICKUP_PATH, _create_pickup)
    app.router.add_get(wire.PICKUP_PATH + "/{number}", _get_pickup)
    app.router.add_put(wire.PICKUP_PATH + "/{number}", _update_pickup)
    app.router.add_delete(wire.PICKUP_PATH + "/{number}", _delete_pickup)
    app.router.add_get(wire.TRACKING_PATH + "/{number}", _track)
    return app


def has_open_pickup(app: web.Application, awb: str) -> bool:
    """Whether a carrier pickup for `awb`'s return is still scheduled (the contract suite checks cancel reaches it)."""
    booking = app[CONTROL_KEY].bookings.get(awb)
    marker = f"Return {booking.reference}" if booking is not None else None
    return any(p.body["pickupLocation"].get("specialInstructions") == marker
               for p in app[STATE_KEY].pickups.values())


def adapter_settings(base_url: str) -> dict[str, Any]:
    """Settings that point a UspsAdapter at this sandbox (used by the contract suite and demo)."""
    return {"base_url": base_url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "crid": "56982563",
            "mid": "904128936", "account_number": "1000405525"}


def run(host: str = "127.0.0.1", port: int = 8084, control: SandboxControl | None = None) -> None:
    """Serve the sandbox until interrupted."""
    web.run_app(make_app(control), host=host, port=port)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the USPS sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8084)
    args = parser.parse_args()
    run(args.host, args.port)
