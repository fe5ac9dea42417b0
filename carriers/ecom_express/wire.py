"""Ecom Express's wire for bookings: pure form builders and JSON response parsers, bytes in and out.

Formats come from Ecom Express's API v2 as its clients use it (see README.md for sources and
confidence). Tracking XML and status pushes are parsed in `scans.py`; its parsers are
re-exported here so callers find every Ecom Express parser in one module. No I/O, no clock.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial
from typing import Any

from carriers import wire_json
from carriers.base import Address, Booking, PickupRequest
from carriers.ecom_express.scans import CARRIER as CARRIER
from carriers.ecom_express.scans import IST as IST
from carriers.ecom_express.scans import parse_reference_lookup as parse_reference_lookup
from carriers.ecom_express.scans import parse_time as parse_time
from carriers.ecom_express.scans import parse_tracking as parse_tracking
from carriers.ecom_express.scans import parse_webhook as parse_webhook
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

_load = partial(wire_json.load, CARRIER)
_load_object = partial(wire_json.load_object, CARRIER)
_object = partial(wire_json.as_object, CARRIER)

PINCODE_PATH = "/apiv2/pincodes/"
FETCH_AWB_PATH = "/apiv2/fetch_awb/"
MANIFEST_PATH = "/apiv2/manifest_awb_rev_v2/"
CANCEL_PATH = "/apiv2/cancel_awb/"
TRACK_PATH = "/track_me/api/mawbd/"
LABEL_PATH = "/services/expp/shipping_label"
# Ecom Express takes a comma list of AWBs but documents no maximum; 25 is our conservative choice.
MAX_TRACK_BATCH = 25

# Reason texts, lower-cased, in the order they are checked (see README.md, "Errors").
_DUPLICATE_MARKERS = ("order number already exist", "order_number already exist", "duplicate order")
_AUTH_MARKERS = ("username", "password", "unauthori", "authenticat", "not authorised", "invalid user")
_NOT_SERVICEABLE_MARKERS = ("not serviceable", "non serviceable", "non-serviceable", "not serviced")
# Cancel reasons that mean the pickup is already off (clients treat the RTO lock as cancelled).
_ALREADY_CANCELLED_MARKERS = ("already cancel", "rto lock already applied")


class DuplicateOrder(CarrierRejected):
    """Ecom Express already holds a shipment with this ORDER_NUMBER: look it up, never re-book."""

    def __init__(self, detail: str) -> None:
        super().__init__(CARRIER, detail)


# -- requests -------------------------------------------------------------------------------


def credentials(username: str, password: str) -> dict[str, str]:
    """The form fields that authenticate every Ecom Express call."""
    return {"username": username, "password": password}


def build_fetch_awb(count: int = 1) -> dict[str, str]:
    """Form fields asking for reverse-pickup AWBs (`type=REV`)."""
    return {"count": str(count), "type": "REV"}


def build_reverse_manifest(request: PickupRequest, awb: str, *, vendor_id: str = "") -> dict[str, str]:
    """Form fields manifesting one reverse pickup: the shipment JSON goes in `json_input`."""
    pickup, drop, parcel = request.pickup_address, request.drop_address, request.parcel
    customer, merchant = request.pickup_contact, request.drop_contact
    weight_kg = round(parcel.weight_g / 1000, 3)
    shipment: dict[str, Any] = {
        "AWB_NUMBER": awb, "ORDER_NUMBER": request.reference, "PRODUCT": "rev",
        "REVPICKUP_NAME": customer.name, **_lines("REVPICKUP_ADDRESS", pickup, 3),
        "REVPICKUP_CITY": pickup.city, "REVPICKUP_PINCODE": pickup.postcode, "REVPICKUP_STATE": pickup.state,
        "REVPICKUP_MOBILE": customer.national_phone, "REVPICKUP_TELEPHONE": customer.national_phone,
        "PIECES": 1, "COLLECTABLE_VALUE": 0, "DECLARED_VALUE": float(request.total_value),
        "ACTUAL_WEIGHT": weight_kg, "VOLUMETRIC_WEIGHT": round(parcel.volumetric_weight_g / 1000, 3),
        "LENGTH": parcel.length_cm, "BREADTH": parcel.width_cm, "HEIGHT": parcel.height_cm,
        "DROP_NAME": merchant.name, **_lines("DROP_ADDRESS_LINE", drop, 2), "DROP_PINCODE": drop.postcode,
        "DROP_MOBILE": merchant.national_phone, "DROP_PHONE": merchant.national_phone,
        "ITEM_DESCRIPTION": ", ".join(i.name for i in request.items), "EXTRA_INFORMATION": request.reason,
        "DG_SHIPMENT": "false",
        "ADDITIONAL_INFORMATION": {"ITEM_VALUE": float(request.total_value),
                                   "ITEM_CATEGORY": request.items[0].category, "SELLER_NAME": merchant.name},
    }
    if vendor_id:
        shipment["VENDOR_ID"] = vendor_id
    payload = {"ECOMEXPRESS-OBJECTS": {"SHIPMENT": shipment}}
    return {"json_input": json.dumps(payload, separators=(",", ":"), ensure_ascii=False)}


def _lines(prefix: str, address: Address, count: int) -> dict[str, str]:
    """Address lines under Ecom's numbered keys (three for the pickup, two for the drop)."""
    lines = [address.line1, address.line2, address.city][:count]
    return {f"{prefix}{i}": line for i, line in enumerate(lines, start=1) if line}


def build_cancel(awbs: Sequence[str]) -> dict[str, str]:
    return {"awbs": ",".join(awbs)}


def track_params(*, awbs: Sequence[str] = (), orders: Sequence[str] = ()) -> dict[str, str]:
    """The mawbd query for a comma list of AWBs or of our order references (credentials added by the caller)."""
    params = {"awb": ",".join(awbs)} if awbs else {}
    return params | ({"order": ",".join(orders)} if orders else {})


# -- responses ------------------------------------------------------------------------------


def check_http(status: int, raw: bytes, retry_after: str | None = None) -> None:
    """Raise for an HTTP status that says more than the body.

    Raises: CarrierAuthError (401, 403), CarrierUnavailable (429, 5xx), CarrierRejected (other 4xx).
    """
    text = raw[:300].decode("utf-8", "replace")
    if status in (401, 403):
        raise CarrierAuthError(CARRIER, f"HTTP {status}: {text}")
    if status == 429:
        raise CarrierUnavailable(CARRIER, "HTTP 429", retry_after_s=_seconds(retry_after))
    if status >= 500:
        raise CarrierUnavailable(CARRIER, f"HTTP {status}")
    if status >= 400:
        raise CarrierRejected(CARRIER, f"HTTP {status}: {text}")


def parse_pincodes(raw: bytes, pin: str) -> bool:
    """Whether the pincodes answer lists `pin` as active."""
    body = _load(raw, "pincodes response")
    if isinstance(body, dict):
        raise _reason_error(str(body.get("reason") or body), "pincodes response is not a list")
    if not isinstance(body, list):
        raise CarrierResponseInvalid(CARRIER, "pincodes response is not a list")
    return any(isinstance(e, dict) and str(e.get("pincode")) == pin and e.get("active") in (True, "true", "1", 1)
               for e in body)


def parse_fetch_awb(raw: bytes) -> str:
    """The first AWB of a fetch_awb answer. Raises: CarrierAuthError, CarrierRejected, CarrierResponseInvalid."""
    body = _load_object(raw, "fetch_awb response")
    awbs = body.get("awb")
    if isinstance(awbs, list) and awbs and str(body.get("success", "yes")).lower() in ("yes", "true"):
        return str(awbs[0])
    raise _reason_error(str(body.get("reason") or body.get("error") or ""), "fetch_awb response without an AWB")


def parse_manifest(raw: bytes) -> Booking:
    """The booking in a reverse-manifest answer.

    Raises: DuplicateOrder, NotServiceable, CarrierRejected, CarrierAuthError, CarrierResponseInvalid.
    """
    body = _load(raw, "manifest response")
    if isinstance(body, dict) and "RESPONSE-OBJECTS" in body:
        objects = _object(body["RESPONSE-OBJECTS"], "RESPONSE-OBJECTS")
        bill = _object(_object(objects.get("AIRWAYBILL-OBJECTS"), "AIRWAYBILL-OBJECTS").get("AIRWAYBILL"),
                       "AIRWAYBILL")
        if str(bill.get("success")).lower() == "true" and bill.get("airwaybill_number"):
            return Booking(carrier=CARRIER, awb=str(bill["airwaybill_number"]),
                           carrier_reference=str(bill.get("order_number") or ""))
        errors = bill.get("error_list")
        comment = errors.get("reason_comment") if isinstance(errors, dict) else errors
        raise _reason_error(str(comment or ""), "manifest refused without a reason")
    shipments = body.get("shipments") if isinstance(body, dict) else None
    if isinstance(shipments, list) and shipments and isinstance(shipments[0], dict):
        raise _reason_error(str(shipments[0].get("reason") or ""), "manifest refused without a reason")
    reason = str(body.get("reason") or "") if isinstance(body, dict) else ""
    raise _reason_error(reason, "manifest response in no known shape")


def parse_cancel(raw: bytes, awb: str) -> None:
    """Accept a cancellation, or one already done. Raises: CarrierRejected, CarrierResponseInvalid."""
    body = _load(raw, "cancel response")
    entries = body if isinstance(body, list) else []
    entry = next((e for e in entries if isinstance(e, dict) and str(e.get("awb")) == awb), None)
    if entry is None:
        reason = str(body.get("reason") or "") if isinstance(body, dict) else ""
        raise _reason_error(reason, f"cancel response does not mention {awb}")
    reason = str(entry.get("reason") or "")
    if entry.get("success") in (True, "true", "True") or _has(reason, _ALREADY_CANCELLED_MARKERS):
        return
    raise _reason_error(reason, "cancel refused without a reason")


def parse_label(raw: bytes) -> bytes | None:
    """The label PDF, None when Ecom Express answers with a reason instead."""
    if raw.startswith(b"%PDF"):
        return raw
    body = _load(raw, "label response")
    if isinstance(body, dict) and (body.get("reason") or body.get("error")):
        reason = str(body.get("reason") or body.get("error"))
        if _has(reason, _AUTH_MARKERS):
            raise CarrierAuthError(CARRIER, reason)
        return None
    raise CarrierResponseInvalid(CARRIER, "label response is neither a PDF nor a reason")


def _reason_error(reason: str, fallback: str) -> CarrierError:
    """The error class an Ecom Express reason text stands for."""
    if not reason:
        return CarrierResponseInvalid(CARRIER, fallback)
    if _has(reason, _DUPLICATE_MARKERS):
        return DuplicateOrder(reason)
    if _has(reason, _AUTH_MARKERS):
        return CarrierAuthError(CARRIER, reason)
    if _has(reason, _NOT_SERVICEABLE_MARKERS):
        return NotServiceable(CARRIER, reason)
    return CarrierRejected(CARRIER, reason)
