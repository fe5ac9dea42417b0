"""DHL's wire for bookings: MyDHL API (Express) request builders and response parsers, bytes in and out.

Tracking and push parsing live in `wire_tracking.py`. Formats come from the MyDHL API 3.1.1 spec;
see README.md for sources and confidence. No I/O, no clock, no settings: callers pass values.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from carriers.base import Address, Booking, Contact, PickupRequest
from carriers.errors import (
    CarrierAuthError,
    CarrierRejected,
    CarrierResponseInvalid,
    CarrierUnavailable,
    NotServiceable,
)
from carriers.retry import retry_after_s as _seconds

CARRIER = "dhl"
SHIPMENTS_PATH = "/shipments"
TRACKING_PATH = "/tracking"
PICKUPS_PATH = "/pickups"

# How a return is modelled is not settled in DHL's docs [U]: the consumer ships to the
# warehouse with the "RETURN TO SELLER" value-added service. Change it here only.
RETURN_SERVICE_CODE = "PH"
# Our return id travels as a customer reference; the lookup names its type [U].
REFERENCE_TYPE_CODE = "CU"
REFERENCE_LOOKUP_TYPE = "customer-reference"
# A reference lookup searches this many days back from today.
REFERENCE_LOOKUP_DAYS = 10
_LINE_MAX = 45
_NOT_SERVICEABLE_MARKERS = ("not serviceable", "no product", "product not available", "not available between",
                            "service area")
_ALREADY_CANCELLED = "already cancelled"


# `Booking.carrier_reference` of a drop-off return: there is no pickup to cancel or move.
NO_PICKUP = "drop-off"


def pickup_path(dispatch_confirmation: str) -> str:
    return f"{PICKUPS_PATH}/{quote(dispatch_confirmation, safe='')}"


def format_planned(at: datetime) -> str:
    """MyDHL's local time with its offset: "2025-03-04T10:00:00 GMT+01:00"."""
    if at.tzinfo is None:
        raise ValueError("a planned time needs its offset")
    offset = at.strftime("%z")
    return f"{at.strftime('%Y-%m-%dT%H:%M:%S')} GMT{offset[:3]}:{offset[3:]}"


# -- requests -------------------------------------------------------------------------------


def build_shipment(request: PickupRequest, *, account: str, product_code: str, planned_at: datetime,
                   currency: str, close_time: str) -> dict[str, Any]:
    """The POST /shipments body: a return from the consumer to the warehouse, with a courier pickup."""
    is_declarable = request.pickup_address.country != request.drop_address.country
    body: dict[str, Any] = {
        "plannedShippingDateAndTime": format_planned(planned_at),
        # A drop-off return books no courier: the customer takes it to a DHL Service Point (carriers.md §3A).
        "pickup": {"isRequested": False} if request.drop_off else
        {"isRequested": True, "closeTime": close_time, "locationType": "residence"},
        "productCode": product_code,
        "accounts": [{"typeCode": "shipper", "number": account}],
        "valueAddedServices": [{"serviceCode": RETURN_SERVICE_CODE}],
        "outputImageProperties": {"encodingFormat": "pdf",
                                  "imageOptions": [{"typeCode": "label", "isRequested": True}]},
        "customerReferences": [{"value": request.reference, "typeCode": REFERENCE_TYPE_CODE}],
        "customerDetails": {"shipperDetails": party(request.pickup_address, request.pickup_contact),
                            "receiverDetails": party(request.drop_address, request.drop_contact)},
        "content": _content(request, is_declarable, currency, planned_at.date()),
    }
    return body


def party(address: Address, contact: Contact) -> dict[str, Any]:
    """A `shipperDetails`/`receiverDetails` block."""
    postal: dict[str, str] = {"postalCode": address.postcode, "cityName": address.city,
                              "countryCode": address.country, "addressLine1": address.line1[:_LINE_MAX]}
    if address.line2:
        postal["addressLine2"] = address.line2[:_LINE_MAX]
    if address.state and len(address.state) <= 2:
        postal["provinceCode"] = address.state
    info = {"fullName": contact.name, "companyName": contact.name, "phone": contact.phone}
    if contact.email:
        info["email"] = contact.email
    return {"postalAddress": postal, "contactInformation": info}


def _content(request: PickupRequest, is_declarable: bool, currency: str, on: date) -> dict[str, Any]:
    parcel = request.parcel
    content: dict[str, Any] = {
        "packages": [{"weight": round(parcel.weight_g / 1000, 3),
                      "dimensions": {"length": parcel.length_cm, "width": parcel.width_cm,
                                     "height": parcel.height_cm},
                      "customerReferences": [{"value": request.reference, "typeCode": REFERENCE_TYPE_CODE}]}],
        "isCustomsDeclarable": is_declarable,
        "description": f"Return {request.reference}"[:70],
        "incoterm": "DAP",
        "unitOfMeasurement": "metric",
    }
    if is_declarable:
        content |= {"declaredValue": float(request.total_value), "declaredValueCurrency": currency,
                    "exportDeclaration": _export_declaration(request, currency, on)}
    return content


def _export_declaration(request: PickupRequest, currency: str, on: date) -> dict[str, Any]:
    """A minimal commercial declaration for a cross-border return [U: fields per the 3.1.1 spec]."""
    weight_kg = round(request.parcel.weight_g / 1000 / len(request.items), 3)
    lines = [{"number": n, "description": item.name[:70], "price": float(item.price),
              "quantity": {"value": item.quantity, "unitOfMeasurement": "PCS"},
              "exportReasonType": "return", "manufacturerCountry": request.pickup_address.country,
              "weight": {"netValue": weight_kg, "grossValue": weight_kg}}
             for n, item in enumerate(request.items, start=1)]
    return {"lineItems": lines, "exportReason": request.reason or "Return", "exportReasonType": "return",
            "invoice": {"number": request.reference, "date": on.isoformat()}, "currency": currency}


def build_reference_lookup(reference: str, *, account: str, today: date) -> list[tuple[str, str]]:
    """GET /tracking query finding the shipment booked under our reference."""
    return [("shipmentReference", reference), ("shipmentReferenceType", REFERENCE_LOOKUP_TYPE),
            ("shipperAccountNumber", account),
            ("dateRangeFrom", (today - timedelta(days=REFERENCE_LOOKUP_DAYS)).isoformat()),
            ("dateRangeTo", (today + timedelta(days=1)).isoformat()),
            ("trackingView", "shipment-details-only")]


def build_tracking(awbs: Sequence[str]) -> list[tuple[str, str]]:
    """GET /tracking query for up to 200 shipments, every checkpoint."""
    return [*(("shipmentTrackingNumber", a) for a in awbs), ("trackingView", "all-checkpoints"),
            ("levelOfDetail", "shipment")]


def build_pickup_cancel(requestor: str, reason: str) -> dict[str, str]:
    return {"requestorName": requestor, "reason": reason}


def build_pickup_update(dispatch_confirmation: str, *, account: str, planned_at: datetime,
                        shipper: dict[str, Any]) -> dict[str, Any]:
    """The PATCH /pickups/{dispatchConfirmationNumber} body moving a pickup to another time."""
    return {"dispatchConfirmationNumber": dispatch_confirmation, "originalShipperAccountNumber": account,
            "plannedPickupDateAndTime": format_planned(planned_at),
            "accounts": [{"typeCode": "shipper", "number": account}],
            "customerDetails": {"shipperDetails": shipper}}


# -- responses ------------------------------------------------------------------------------


def check_http(status: int, raw: bytes, retry_after: str | None = None) -> None:
    """Raise for a non-2xx answer by class.

    Raises: CarrierAuthError (401, 403), CarrierUnavailable (429, 5xx), NotServiceable (a product
    or service area refusal), CarrierRejected (other 4xx).
    """
    if status < 400:
        return
    if status in (401, 403):
        raise CarrierAuthError(CARRIER, f"HTTP {status}: {problem_text(raw)}")
    if status == 429:
        raise CarrierUnavailable(CARRIER, "HTTP 429", retry_after_s=_seconds(retry_after))
    if status >= 500:
        raise CarrierUnavailable(CARRIER, f"HTTP {status}")
    text = problem_text(raw)
    if any(m in text.lower() for m in _NOT_SERVICEABLE_MARKERS):
        raise NotServiceable(CARRIER, text)
    raise CarrierRejected(CARRIER, f"HTTP {status}: {text}")


def problem_text(raw: bytes) -> str:
    """The title and detail of an RFC 7807 answer, or the start of whatever came instead."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return raw[:200].decode("utf-8", "replace")
    if not isinstance(body, dict):
        return str(body)[:200]
    parts = [str(body.get(k)) for k in ("title", "detail") if body.get(k)]
    extra = body.get("additionalDetails")
    if isinstance(extra, list):
        parts += [str(x) for x in extra if x]
    return "; ".join(parts) or str(body)[:200]


def parse_shipment(raw: bytes) -> Booking:
    """The booking in a 201 shipment answer: AWB, pickup confirmation and the label PDF."""
    body = load_object(raw, "shipment response")
    awb = body.get("shipmentTrackingNumber")
    if not awb:
        raise CarrierResponseInvalid(CARRIER, "shipment response without shipmentTrackingNumber")
    fields = {k: str(body[k]) for k in ("trackingUrl", "cancelPickupUrl") if body.get(k)}
    pieces = [str(p.get("trackingNumber")) for p in body.get("packages") or [] if isinstance(p, dict)]
    if pieces:
        fields["pieces"] = ",".join(pieces)
    return Booking(carrier=CARRIER, awb=str(awb), carrier_reference=str(body.get("dispatchConfirmationNumber") or ""),
                   label_pdf=_label_pdf(body.get("documents")), label_fields=fields)


def _label_pdf(documents: object) -> bytes | None:
    if not isinstance(documents, list):
        return None
    for doc in documents:
        if isinstance(doc, dict) and doc.get("typeCode") == "label" and str(doc.get("imageFormat")).upper() == "PDF":
            try:
                return base64.b64decode(str(doc.get("content", "")), validate=True)
            except binascii.Error as exc:
                raise CarrierResponseInvalid(CARRIER, "label content is not base64") from exc
    return None


def parse_pickup_cancel(status: int, raw: bytes) -> None:
    """Accept a cancelled pickup, or one cancelled before. Raises: CarrierRejected."""
    if status < 300:
        return
    text = problem_text(raw)
    # DHL answers 400 "Pickup already cancelled or completed" to a second DELETE.
    if status == 400 and _ALREADY_CANCELLED in text.lower():
        return
    check_http(status, raw)


def parse_pickup_update(raw: bytes) -> str:
    """The dispatch confirmation number of a moved pickup."""
    body = load_object(raw, "pickup update response")
    number = body.get("dispatchConfirmationNumber")
    if not number:
        raise CarrierResponseInvalid(CARRIER, "pickup update response without dispatchConfirmationNumber")
    return str(number)


# -- helpers --------------------------------------------------------------------------------


def load_object(raw: bytes, what: str) -> dict[str, Any]:
    """A JSON object. Raises: CarrierResponseInvalid."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CarrierResponseInvalid(CARRIER, f"{what} is not JSON: {raw[:80]!r}") from exc
    if not isinstance(body, dict):
        raise CarrierResponseInvalid(CARRIER, f"{what} is not a JSON object")
    return body
