"""Ekart's wire (Ekart Elite API v3.8.8): pure request builders and response parsers, bytes in and out.

See README.md for sources and confidence. No I/O, no clock, no settings lookups.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from functools import partial
from typing import Any

from carriers import wire_json
from carriers.base import Address, Booking, CarrierEvent, Contact, Item, PickupRequest, QcAttributes
from carriers.errors import (
    CarrierAuthError,
    CarrierError,
    CarrierRejected,
    CarrierResponseInvalid,
    CarrierUnavailable,
    NotServiceable,
)
from carriers.retry import retry_after_s as _seconds

CARRIER = "ekart"
_load_object = partial(wire_json.load_object, CARRIER)
_object = partial(wire_json.as_object, CARRIER)
_text = partial(wire_json.required_text, CARRIER)
IST = timezone(timedelta(hours=5, minutes=30), "IST")

TOKEN_PATH = "/integrations/v2/auth/token/{client_id}"
CREATE_PATH = "/api/v1/package/create"
CANCEL_PATH = "/api/v1/package/cancel"
LABEL_PATH = "/api/v1/package/label"
TRACK_PATH = "/api/v1/track/{id}"
NDR_PATH = "/api/v2/package/ndr"
SERVICEABILITY_PATH = "/api/v2/serviceability/{pincode}"
MAX_LABEL_IDS = 100

# Ekart HMACs the webhook body with the registered secret, but its spec names no header [U]:
# we ask for the hex SHA-256 digest in this header. Change it here only.
SIGNATURE_HEADER = "X-Ekart-Signature"
# Re-attempts are booked for this hour of the chosen day, IST.
REATTEMPT_AT = time(10, 0)
_DUPLICATE_MARKERS = ("already exists", "duplicate")
_NOT_SERVICEABLE_MARKERS = ("not serviceable", "non serviceable", "out of delivery area")
_ALREADY_CANCELLED = "already cancel"


@dataclass(frozen=True)
class Seller:
    """The seller fields Ekart requires on every shipment, and its registered warehouse alias."""

    name: str
    address: str
    gst_tin: str
    warehouse_alias: str = ""


@dataclass(frozen=True)
class Pincode:
    """One PIN code as the serviceability API describes it, for the reverse flow."""

    pin: str
    has_reverse_pickup: bool
    has_reverse_drop: bool


# -- requests -------------------------------------------------------------------------------


def build_create(request: PickupRequest, *, seller: Seller, invoice_date: date) -> dict[str, Any]:
    """The create body for a reverse pickup: `drop_location` is the customer, `pickup_location` us.

    Ekart's reverse semantics are "opposite to what happens on the ground" (its words).
    """
    parcel, total = request.parcel, max(request.total_value, Decimal(1))
    body: dict[str, Any] = {
        "order_number": request.reference, "invoice_number": request.reference,
        "invoice_date": invoice_date.isoformat(),
        "seller_name": seller.name, "seller_address": seller.address, "seller_gst_tin": seller.gst_tin,
        "consignee_gst_amount": 0, "consignee_name": request.pickup_contact.name,
        "consignee_alternate_phone": request.pickup_contact.national_phone,
        "products_desc": ", ".join(i.name for i in request.items)[:200],
        "category_of_goods": request.items[0].category, "payment_mode": "Pickup",
        "return_reason": request.reason or "Customer return",
        "total_amount": float(total), "tax_value": 0, "taxable_amount": float(total),
        "commodity_value": str(total), "cod_amount": 0,
        "quantity": sum(i.quantity for i in request.items),
        "weight": parcel.weight_g, "length": math.ceil(parcel.length_cm),
        "height": math.ceil(parcel.height_cm), "width": math.ceil(parcel.width_cm),
        "drop_location": _location(request.pickup_contact, request.pickup_address, "Home"),
    }
    warehouse = request.warehouse or seller.warehouse_alias
    ours = {"name": warehouse} if warehouse else _location(request.drop_contact, request.drop_address, "Office")
    body |= {"pickup_location": ours, "return_location": ours}
    qc_items = [i for i in request.items if i.qc is not None]
    if qc_items:
        body["qc_details"] = _qc_details(qc_items[0])
    return body


def _location(contact: Contact, address: Address, kind: str) -> dict[str, Any]:
    street = ", ".join(p for p in (address.line1, address.line2) if p)
    return {"location_type": kind, "address": street, "city": address.city, "state": address.state,
            "country": "India", "name": contact.name, "phone": int(contact.national_phone),
            "pin": int(address.postcode)}


def _qc_details(item: Item) -> dict[str, Any]:
    qc = item.qc or QcAttributes()
    fields = {"product_name": item.name, "product_desc": qc.description, "product_sku": item.sku,
              "product_color": qc.color, "product_size": qc.size, "brand_name": qc.brand,
              "product_category": item.category, "ean_barcode": qc.ean, "imei_number": qc.imei}
    details: dict[str, Any] = {"qc_shipment": True} | {k: v for k, v in fields.items() if v}
    details["product_images"] = list(qc.image_urls)
    return details


def build_token_request(username: str, password: str) -> dict[str, str]:
    return {"username": username, "password": password}


def build_label(ids: Sequence[str]) -> dict[str, list[str]]:
    """At most 100 ids per label call. Raises: ValueError beyond that."""
    if not 0 < len(ids) <= MAX_LABEL_IDS:
        raise ValueError(f"Ekart prints 1 to {MAX_LABEL_IDS} labels per call, got {len(ids)}")
    return {"ids": list(dict.fromkeys(ids))}


def build_reattempt(tracking_id: str, on: date, contact: Contact | None = None,
                    address: Address | None = None) -> dict[str, Any]:
    """The NDR action asking for another attempt on `on` (epoch ms; Ekart wants 1-7 days ahead)."""
    moment = datetime.combine(on, REATTEMPT_AT, tzinfo=IST)
    body: dict[str, Any] = {"action": "Re-Attempt", "wbn": tracking_id, "date": int(moment.timestamp() * 1000)}
    if contact is not None:
        body["phone"] = contact.national_phone
    if address is not None:
        body["address"] = address.one_line
    return body


def signature(body: bytes, secret: str) -> str:
    """The hex HMAC-SHA256 of a webhook body under the registered secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# -- responses ------------------------------------------------------------------------------


def check_http(status: int, raw: bytes, retry_after: str | None = None) -> None:
    """Raise for an HTTP error, using Ekart's `{statusCode, code, message, description}` body.

    Raises: CarrierAuthError (401, 403), CarrierUnavailable (429, 5xx), NotServiceable or
    CarrierRejected (other 4xx).
    """
    if status < 400:
        return
    message = _error_message(raw)
    if status in (401, 403):
        raise CarrierAuthError(CARRIER, f"HTTP {status}: {message}")
    if status == 429:
        raise CarrierUnavailable(CARRIER, "HTTP 429", retry_after_s=_seconds(retry_after))
    if status >= 500:
        raise CarrierUnavailable(CARRIER, f"HTTP {status}")
    raise _refusal(f"HTTP {status}: {message}")


def _error_message(raw: bytes) -> str:
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return raw[:200].decode("utf-8", "replace")
    if not isinstance(body, dict):
        return str(body)[:200]
    return " - ".join(str(body[k]) for k in ("code", "message", "description") if body.get(k))


def _refusal(message: str) -> CarrierError:
    if any(m in message.lower() for m in _NOT_SERVICEABLE_MARKERS):
        return NotServiceable(CARRIER, message)
    return CarrierRejected(CARRIER, message)


def parse_token(raw: bytes) -> tuple[str, float]:
    """The access token and its lifetime in seconds. Raises: CarrierResponseInvalid."""
    body = _load_object(raw, "token response")
    token, expires_in = body.get("access_token"), body.get("expires_in")
    if not token or not isinstance(expires_in, int | float) or expires_in <= 0:
        raise CarrierResponseInvalid(CARRIER, "token response without access_token/expires_in")
    return str(token), float(expires_in)


def parse_create(raw: bytes) -> Booking:
    """The booking in a create answer; a repeated order number answers with the first shipment.

    Raises: NotServiceable, CarrierRejected, CarrierResponseInvalid.
    """
    body = _load_object(raw, "create response")
    tracking_id, remark = body.get("tracking_id"), str(body.get("remark") or "")
    is_duplicate = any(m in remark.lower() for m in _DUPLICATE_MARKERS)
    if tracking_id and (body.get("status") is True or is_duplicate):
        found = body.get("barcodes")
        barcodes: dict[str, Any] = found if isinstance(found, dict) else {}
        fields = {"wbn": barcodes.get("wbn"), "vendor": body.get("vendor")}
        return Booking(carrier=CARRIER, awb=str(tracking_id), carrier_reference=str(barcodes.get("order") or ""),
                       label_fields={k: str(v) for k, v in fields.items() if v})
    if "status" not in body:
        raise CarrierResponseInvalid(CARRIER, "create response without status")
    raise _refusal(remark or "shipment refused without a remark")


def parse_cancel(raw: bytes) -> None:
    """Accept a cancellation, or one already done. Raises: CarrierRejected, CarrierResponseInvalid."""
    data = _load_object(raw, "cancel response").get("data")
    if not isinstance(data, list) or not data:
        raise CarrierResponseInvalid(CARRIER, "cancel response without data")
    items = [_object(d, "cancel data entry") for d in data]
    refused = [str(i.get("remark") or "cancellation refused") for i in items if i.get("status") is not True]
    if all(_ALREADY_CANCELLED in r.lower() for r in refused):
        return
    raise CarrierRejected(CARRIER, "; ".join(refused))


def parse_label(raw: bytes) -> bytes | None:
    """The label PDF, None when Ekart answered with an error body instead."""
    if raw.startswith(b"%PDF"):
        return raw
    _load_object(raw, "label response")
    return None


def parse_ndr_action(raw: bytes) -> None:
    """Accept an NDR action. Raises: CarrierRejected, CarrierResponseInvalid."""
    body = _load_object(raw, "NDR response")
    if body.get("status") is True:
        return
    if "status" not in body:
        raise CarrierResponseInvalid(CARRIER, "NDR response without status")
    raise CarrierRejected(CARRIER, str(body.get("remark") or "NDR action refused"))


def parse_serviceability(raw: bytes) -> Pincode | None:
    """The PIN code's reverse serviceability, None when Ekart does not serve it at all."""
    body = _load_object(raw, "serviceability response")
    details = body.get("details")
    if body.get("status") is not True or not isinstance(details, dict):
        return None
    return Pincode(pin=str(body.get("pincode", "")), has_reverse_pickup=details.get("reverse_pickup") is True,
                   has_reverse_drop=details.get("reverse_drop") is True)


def parse_tracking(raw: bytes) -> list[CarrierEvent]:
    """Every status of one shipment, oldest first; an unknown id (error body) yields no events."""
    body = _load_object(raw, "tracking response")
    if "track" not in body and "statusCode" in body:
        return []
    tracking_id = _text(body, "_id")
    track = _object(body.get("track"), "track")
    details = track.get("details") or []
    if not isinstance(details, list):
        raise CarrierResponseInvalid(CARRIER, f"tracking {tracking_id}: details is not a list")
    events = [_event(tracking_id, _object(d, "track detail")) for d in details]
    latest = _event(tracking_id, track)
    if not any((e.code, e.occurred_at) == (latest.code, latest.occurred_at) for e in events):
        events.append(latest)
    return sorted(events, key=lambda e: e.occurred_at)


def parse_webhook(raw: bytes) -> list[CarrierEvent]:
    """The status in a `track_updated` push; `shipment_created`/`_recreated` carry none."""
    body = _load_object(raw, "webhook")
    if "status" not in body:
        return []
    return [_event(_text(body, "id"), body)]


def from_epoch_ms(value: object) -> datetime:
    """An Ekart epoch-millisecond time as an aware datetime in IST, Ekart's local time."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CarrierResponseInvalid(CARRIER, f"time missing or not a number: {value!r}")
    try:
        return datetime.fromtimestamp(float(value) / 1000, tz=IST)
    except (ValueError, OverflowError, OSError) as exc:
        raise CarrierResponseInvalid(CARRIER, f"bad epoch time {value!r}") from exc


def _event(tracking_id: str, scan: dict[str, Any]) -> CarrierEvent:
    return CarrierEvent(
        carrier=CARRIER, awb=tracking_id, code=_text(scan, "status"), detail_code=str(scan.get("ndrStatus") or ""),
        description=str(scan.get("desc") or ""), location=str(scan.get("location") or ""),
        occurred_at=from_epoch_ms(scan.get("ctime")),
    )


# -- helpers --------------------------------------------------------------------------------
