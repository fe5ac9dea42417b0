"""Shadowfax's wire (Unified API, reverse pickup requests): pure request builders and response parsers.

Formats and codes come from carriers.md §5; see README.md for sources and confidence.
No I/O, no clock, no settings: callers pass what a builder needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

from carriers import wire_json
from carriers.base import Booking, CarrierEvent, Item, PickupRequest
from carriers.errors import (
    CarrierAuthError,
    CarrierError,
    CarrierRejected,
    CarrierResponseInvalid,
    CarrierUnavailable,
    NotServiceable,
)
from carriers.retry import retry_after_s as _seconds
from carriers.wire_json import mentions_any as _has

CARRIER = "shadowfax"
_load = partial(wire_json.load, CARRIER)
_load_object = partial(wire_json.load_object, CARRIER)
_object = partial(wire_json.as_object, CARRIER)
_text = partial(wire_json.required_text, CARRIER)
IST = timezone(timedelta(hours=5, minutes=30), "IST")

CREATE_PATH = "/v3/clients/requests/"
TRACK_PATH = "/v4/clients/bulk_track/"
CANCEL_PATH = "/v3/clients/orders/cancel/"
SERVICEABILITY_PATH = "/v1/clients/serviceability/"
# The serviceability `service` for a reverse pickup from a customer.
PICKUP_SERVICE = "customer_pickup"

SUCCESS = "success"
FAILURE = "failure"
# Cancel answers (responseCode) that mean "cancelled" or "will be cancelled at the next scan".
_CANCEL_ACCEPTED = frozenset({200, 304})

# Failure texts, lower-cased, in the order they are checked (see README.md, "Errors").
_DUPLICATE_MARKERS = ("already exists", "duplicate")
_AUTH_MARKERS = ("pending invoice", "invalid token", "authentication", "not authorized", "inactive")
_NOT_SERVICEABLE_MARKERS = ("not serviceable", "non serviceable", "non-serviceable", "unserviceable")
_CANCEL_DONE_MARKERS = ("already in its cancellation phase", "already cancelled")


class DuplicateRequest(CarrierRejected):
    """Shadowfax already holds a request with this client_order_number: reuse its AWB, never re-book."""

    def __init__(self, awb: str) -> None:
        super().__init__(CARRIER, f"client_order_number already booked as {awb}")
        self.awb = awb


# -- requests -------------------------------------------------------------------------------


def build_create(request: PickupRequest, *, seller_code: str) -> dict[str, Any]:
    """The reverse pickup body: address_attributes is the customer, seller_attributes the merchant."""
    pickup, drop, parcel = request.pickup_address, request.drop_address, request.parcel
    total = float(request.total_value)
    return {
        "client_order_number": request.reference,
        "total_amount": total,
        "price": total,
        "eway_bill": "",
        "address_attributes": {
            "name": request.pickup_contact.name, "phone_number": request.pickup_contact.national_phone,
            "alternate_contact": "", "address_line": _street(pickup.line1, pickup.line2), "city": pickup.city,
            "country": "India", "pincode": int(pickup.postcode),  # a string PIN is answered with HTTP 400
        },
        "weight_details": {"actual_weight": parcel.weight_g / 1000,
                           "volumetric_weight": parcel.volumetric_weight_g / 1000},
        "seller_attributes": {
            "name": request.drop_contact.name, "address_line": _street(drop.line1, drop.line2), "city": drop.city,
            "email": request.drop_contact.email or "", "pincode": int(drop.postcode),
            "phone": request.drop_contact.national_phone, "unique_code": seller_code,
        },
        "skus_attributes": [_sku(item, request.reason) for item in request.items],
    }


def _street(line1: str, line2: str) -> str:
    return ", ".join(p for p in (line1, line2) if p)


def _sku(item: Item, reason: str) -> dict[str, Any]:
    sku: dict[str, Any] = {
        "name": item.name, "client_sku_id": item.sku, "price": float(item.price), "category": item.category,
        "return_reason": reason, "qc_required": "true" if item.qc else "false",
        "additional_details": {"quantity_value": item.quantity},
    }
    if item.qc and item.qc.brand:
        sku["brand"] = item.qc.brand
    return sku


def build_track(awbs: Sequence[str]) -> dict[str, list[str]]:
    return {"awb_numbers": list(awbs)}


def build_cancel(awb: str, remarks: str = "Cancelled by merchant") -> dict[str, str]:
    # `request_id` takes the AWB or the client order number.
    return {"request_id": awb, "cancel_remarks": remarks}


def serviceability_params(pin: str) -> dict[str, str]:
    return {"service": PICKUP_SERVICE, "pincodes": pin, "page": "1", "count": "10"}


# -- responses ------------------------------------------------------------------------------


def check_http(status: int, raw: bytes, retry_after: str | None = None) -> None:
    """Raise for an HTTP status that says something before the body does.

    Raises: CarrierAuthError (401, 403, 400 about pending invoices), CarrierUnavailable (429, 5xx),
    CarrierRejected (other 4xx).
    """
    text = raw[:300].decode("utf-8", "replace")
    if status in (401, 403) or (status == 400 and _has(text, _AUTH_MARKERS)):
        raise CarrierAuthError(CARRIER, f"HTTP {status}: {text}")
    if status == 429:
        raise CarrierUnavailable(CARRIER, "HTTP 429", retry_after_s=_seconds(retry_after))
    if status >= 500:
        raise CarrierUnavailable(CARRIER, f"HTTP {status}")
    if status >= 400:
        raise CarrierRejected(CARRIER, f"HTTP {status}: {text}")


def parse_create(raw: bytes) -> Booking:
    """The booking in a reverse-request answer (HTTP 200 for failures too).

    Raises: DuplicateRequest, NotServiceable, CarrierRejected, CarrierAuthError, CarrierResponseInvalid.
    """
    body = _load_object(raw, "create response")
    message = str(body.get("message", "")).lower()
    awb = _awb(body)
    if message == SUCCESS:
        if not awb:
            raise CarrierResponseInvalid(CARRIER, "create answered Success without an awb_number")
        return Booking(carrier=CARRIER, awb=awb, carrier_reference=str(body.get("client_request_id") or ""))
    if message != FAILURE:
        raise CarrierResponseInvalid(CARRIER, "create response is neither Success nor Failure")
    errors = error_text(body.get("errors"))
    if awb and _has(errors, _DUPLICATE_MARKERS):
        raise DuplicateRequest(awb)
    raise _failure(errors or "Failure without errors")


def _awb(body: dict[str, Any]) -> str:
    """The AWB at the top level or under `data`, as clients have seen both."""
    data = body.get("data")
    nested = data.get("awb_number") if isinstance(data, dict) else None
    return str(body.get("awb_number") or nested or "")


def error_text(errors: object) -> str:
    """Shadowfax's `errors` (a string, a list or a field → messages object) as one line."""
    if isinstance(errors, dict):
        return "; ".join(f"{k}: {error_text(v)}" for k, v in errors.items())
    if isinstance(errors, list):
        return "; ".join(error_text(e) for e in errors)
    return "" if errors is None else str(errors)


def _failure(text: str) -> CarrierError:
    if _has(text, _AUTH_MARKERS):
        return CarrierAuthError(CARRIER, text)
    if _has(text, _NOT_SERVICEABLE_MARKERS):
        return NotServiceable(CARRIER, text)
    return CarrierRejected(CARRIER, text)


def parse_tracking(raw: bytes) -> list[CarrierEvent]:
    """Every scan in a bulk (v4 `data`) or single (v4 `tracking_details`) tracking answer."""
    body = _load_object(raw, "tracking response")
    data = body.get("data")
    if isinstance(data, list):
        shipments = [_object(s, "tracking data entry") for s in data]
    elif isinstance(body.get("tracking_details"), list):
        shipments = [_object(body.get("order_details") or {}, "order_details") | {
            "tracking_details": body["tracking_details"]}]
    elif str(body.get("message", "")).lower() == FAILURE or "invalid awb" in str(body.get("message", "")).lower():
        return []
    else:
        raise CarrierResponseInvalid(CARRIER, "tracking response has neither data nor tracking_details")
    return [event for shipment in shipments for event in _shipment_events(shipment)]


def _shipment_events(shipment: dict[str, Any]) -> list[CarrierEvent]:
    details = shipment.get("tracking_details") or []
    if not isinstance(details, list):
        raise CarrierResponseInvalid(CARRIER, "tracking_details is not a list")
    awb = str(shipment.get("awb_number") or "")
    events = []
    for detail in details:
        scan = _object(detail, "tracking detail")
        events.append(CarrierEvent(
            carrier=CARRIER, awb=awb or _text(scan, "awb_number"), code=_text(scan, "status_id"),
            description=str(scan.get("status") or ""), location=str(scan.get("location") or ""),
            remarks=str(scan.get("remarks") or ""), occurred_at=parse_time(scan.get("created")),
        ))
    return events


def parse_webhook(raw: bytes) -> list[CarrierEvent]:
    """The one status in a Push Callback body; `event` is the machine status id."""
    body = _load_object(raw, "webhook")
    return [CarrierEvent(
        carrier=CARRIER, awb=_text(body, "awb_number"), code=_text(body, "event"),
        description=str(body.get("status") or ""), location=str(body.get("current_location") or ""),
        remarks=str(body.get("comments") or ""), occurred_at=parse_time(body.get("event_timestamp")),
    )]


def parse_cancel(raw: bytes) -> None:
    """Accept a cancellation, a queued one, or one already under way. Raises: CarrierRejected."""
    body = _load_object(raw, "cancel response")
    if "responseCode" not in body and "responseMsg" not in body:
        raise CarrierResponseInvalid(CARRIER, "cancel response without responseCode")
    message = str(body.get("responseMsg") or "")
    if body.get("responseCode") in _CANCEL_ACCEPTED or _has(message, _CANCEL_DONE_MARKERS):
        return
    raise _failure(message or f"cancel refused with responseCode {body.get('responseCode')}")


def parse_serviceable(raw: bytes, pin: str) -> bool:
    """Whether the serviceability answer lists `pin` (as `pincode` or `code`; bare list, `data` or `results`)."""
    body = _load(raw, "serviceability response")
    entries = body if isinstance(body, list) else None
    if isinstance(body, dict):
        entries = body.get("data") if isinstance(body.get("data"), list) else body.get("results")
    if not isinstance(entries, list):
        raise CarrierResponseInvalid(CARRIER, "serviceability response without a list of PIN codes")
    listed = {str(e.get("pincode", e.get("code", ""))) for e in entries if isinstance(e, dict)}
    return pin in listed


def parse_time(value: object) -> datetime:
    """A Shadowfax timestamp: ISO with `Z` (tracking) or `YYYY-MM-DD HH:MM:SS` in IST (push), in IST."""
    if not isinstance(value, str) or not value:
        raise CarrierResponseInvalid(CARRIER, f"timestamp missing or not text: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise CarrierResponseInvalid(CARRIER, f"bad timestamp {value!r}") from exc
    return parsed.astimezone(IST) if parsed.tzinfo else parsed.replace(tzinfo=IST)


# -- helpers --------------------------------------------------------------------------------
