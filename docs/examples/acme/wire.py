"""Acme Parcel's wire, pure: request bodies from our models, bytes into Bookings and CarrierEvents."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from carriers.base import Booking, CarrierEvent, PickupRequest
from carriers.errors import (
    CarrierAuthError,
    CarrierRejected,
    CarrierResponseInvalid,
    CarrierUnavailable,
    NotServiceable,
)

CARRIER = "acme"
PICKUPS_PATH = "/v1/pickups"
TRACKING_PATH = "/v1/tracking"
SIGNATURE_HEADER = "x-acme-signature"


def cancel_path(awb: str) -> str:
    return f"{PICKUPS_PATH}/{awb}/cancel"


def build_booking(request: PickupRequest) -> dict[str, Any]:
    """The POST /v1/pickups body; Acme answers a repeated `reference` with the first AWB."""
    def party(contact: Any, address: Any) -> dict[str, str]:
        return {"name": contact.name, "phone": contact.phone, "address": address.one_line,
                "postcode": address.postcode}

    return {"reference": request.reference, "weight_g": request.parcel.chargeable_weight_g,
            "pickup": party(request.pickup_contact, request.pickup_address),
            "drop": party(request.drop_contact, request.drop_address),
            "items": [{"sku": i.sku, "name": i.name, "quantity": i.quantity} for i in request.items]}


def check_http(status: int, raw: bytes, retry_after: str | None = None) -> None:
    """Raise by class for a non-2xx answer: retry, fail over, tell the merchant or alert ops."""
    if status < 400:
        return
    if status in (401, 403):
        raise CarrierAuthError(CARRIER, f"HTTP {status}")
    if status == 429 or status >= 500:
        wait_s = float(retry_after) if retry_after and retry_after.isdigit() else None
        raise CarrierUnavailable(CARRIER, f"HTTP {status}", retry_after_s=wait_s)
    error = str(load(raw, "error").get("error", ""))
    if status == 422 and error == "not serviceable":
        raise NotServiceable(CARRIER, error)
    raise CarrierRejected(CARRIER, f"HTTP {status}: {error}")


def load(raw: bytes, what: str) -> dict[str, Any]:
    """A JSON object. Raises: CarrierResponseInvalid."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CarrierResponseInvalid(CARRIER, f"{what} is not JSON: {raw[:60]!r}") from exc
    if not isinstance(body, dict):
        raise CarrierResponseInvalid(CARRIER, f"{what} is not a JSON object")
    return body


def parse_booking(raw: bytes) -> Booking:
    body = load(raw, "booking answer")
    if not body.get("awb"):
        raise CarrierResponseInvalid(CARRIER, "booking answer without awb")
    return Booking(carrier=CARRIER, awb=str(body["awb"]), carrier_reference=str(body.get("reference", "")))


def _events(shipment: dict[str, Any]) -> list[CarrierEvent]:
    try:
        return [CarrierEvent(carrier=CARRIER, awb=str(shipment["awb"]), code=str(e["code"]),
                             description=str(e.get("description", "")), location=str(e.get("location", "")),
                             occurred_at=datetime.fromisoformat(str(e["at"])))
                for e in shipment.get("events") or []]
    except (KeyError, TypeError, ValueError) as exc:
        raise CarrierResponseInvalid(CARRIER, f"bad tracking event: {exc}") from exc


def parse_tracking(raw: bytes) -> list[CarrierEvent]:
    """Every scan of every shipment in one GET /v1/tracking answer; an unknown AWB has none."""
    return [e for shipment in load(raw, "tracking answer").get("shipments") or [] for e in _events(shipment)]


def parse_webhook(body: bytes) -> list[CarrierEvent]:
    """A push is one shipment in the tracking answer's shape."""
    return _events(load(body, "webhook body"))


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def is_signed(secret: str, offered: str, body: bytes) -> bool:
    return bool(secret) and hmac.compare_digest(offered, signature(secret, body))
