"""UPS's wire: pure request builders and answers of the Shipping, Pickup and OAuth APIs.

Formats and codes come from UPS's OpenAPI files (UPS-API/api-documentation, karrio's vendored
copies); see README.md for sources and confidence. No I/O, no clock, no settings. Tracking and
webhooks live in `wire_track.py`.
"""

from __future__ import annotations

import json
import math
from datetime import date
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

CARRIER = "ups"
API_VERSION = "v2409"

TOKEN_PATH = "/security/v1/oauth/token"
SHIP_PATH = f"/api/shipments/{API_VERSION}/ship"
PICKUP_PATH = f"/api/pickupcreation/{API_VERSION}/pickup"
# CancelBy 02 = by PRN, which goes in the `Prn` header.
PICKUP_CANCEL_PATH = f"/api/shipments/{API_VERSION}/pickup/02"
VOID_PATH = f"/api/shipments/{API_VERSION}/void/cancel/{{awb}}"
TRACK_PATH = "/api/track/v1/details/{number}"
REFERENCE_PATH = "/api/track/v1/reference/details/{reference}"

# Package reference code "RZ" (Return Authorization Number) carries our return reference.
REFERENCE_CODE = "RZ"
# Error codes by meaning (carriers.md §2.2, §2.9); 111210 "service unavailable between the
# selected locations" is from third-party clients [3P], kept here as the one place to fix it.
_TOKEN_CODES = frozenset({"250002", "251004", "UJ0001"})
_AUTH_CODES = frozenset({"250003", "250001"})
_NOT_SERVICEABLE_CODES = frozenset({"111210"})
_TRANSIENT_CODES = frozenset({"10429", "VSS100"})
_GRAMS_PER_LB = 453.59237


class TokenRejected(CarrierAuthError):
    """UPS refused a bearer token (401): fetch a new one and try once more."""


# -- requests -------------------------------------------------------------------------------


def weight_lb(grams: int) -> str:
    """Pounds as UPS wants them: text with one decimal, at least 0.1."""
    return f"{max(round(grams / _GRAMS_PER_LB, 1), 0.1):.1f}"


def _party(contact: Contact, address: Address) -> dict[str, Any]:
    return {
        "Name": contact.name[:35], "AttentionName": contact.name[:35], "Phone": {"Number": contact.national_phone},
        "Address": {"AddressLine": [line for line in (address.line1, address.line2) if line], "City": address.city,
                    "StateProvinceCode": address.state, "PostalCode": address.postcode,
                    "CountryCode": address.country},
    }


def build_return_shipment(request: PickupRequest, *, account_number: str, service_code: str,
                          return_service_code: str) -> dict[str, Any]:
    """A return shipment: Shipper is the merchant, ShipFrom the customer, ShipTo the warehouse."""
    parcel = request.parcel
    shipper = _party(request.drop_contact, request.drop_address) | {"ShipperNumber": account_number}
    package = {
        "Description": ", ".join(i.name for i in request.items)[:35],
        "Packaging": {"Code": "02"},
        "Dimensions": {"UnitOfMeasurement": {"Code": "IN"},
                       **{k: str(math.ceil(v / 2.54)) for k, v in
                          (("Length", parcel.length_cm), ("Width", parcel.width_cm), ("Height", parcel.height_cm))}},
        "PackageWeight": {"UnitOfMeasurement": {"Code": "LBS"}, "Weight": weight_lb(parcel.weight_g)},
        "ReferenceNumber": [{"Code": REFERENCE_CODE, "Value": request.reference}],
    }
    return {"ShipmentRequest": {
        "Request": {"RequestOption": "nonvalidate", "TransactionReference": {"CustomerContext": request.reference}},
        "Shipment": {
            "Description": f"Return {request.reference}"[:35],
            "ReturnService": {"Code": return_service_code},
            "Shipper": shipper,
            "ShipFrom": _party(request.pickup_contact, request.pickup_address),
            "ShipTo": _party(request.drop_contact, request.drop_address),
            "PaymentInformation": {"ShipmentCharge": [{"Type": "01",
                                                       "BillShipper": {"AccountNumber": account_number}}]},
            "Service": {"Code": service_code},
            "Package": [package],
        },
        "LabelSpecification": {"LabelImageFormat": {"Code": "GIF"}},
    }}


def build_pickup(request: PickupRequest, awb: str, *, account_number: str, service_code: str,
                 pickup_date: date) -> dict[str, Any]:
    """An on-call pickup of one return package at the customer's address."""
    address, contact = request.pickup_address, request.pickup_contact
    return {"PickupCreationRequest": {
        "Request": {"TransactionReference": {"CustomerContext": request.reference}},
        "RatePickupIndicator": "N",
        "Shipper": {"Account": {"AccountNumber": account_number, "AccountCountryCode": request.drop_address.country}},
        "PickupDateInfo": {"ReadyTime": "0900", "CloseTime": "1700", "PickupDate": pickup_date.strftime("%Y%m%d")},
        "PickupAddress": {
            "CompanyName": contact.name[:27], "ContactName": contact.name[:22],
            "AddressLine": ", ".join(p for p in (address.line1, address.line2) if p)[:73],
            "City": address.city, "StateProvince": address.state, "PostalCode": address.postcode,
            "CountryCode": address.country, "ResidentialIndicator": "Y", "Phone": {"Number": contact.national_phone},
        },
        "AlternateAddressIndicator": "Y",
        "PickupPiece": [{"ServiceCode": service_code.zfill(3), "Quantity": "1",
                         "DestinationCountryCode": request.drop_address.country, "ContainerCode": "01"}],
        "TotalWeight": {"Weight": weight_lb(request.parcel.weight_g), "UnitOfMeasurement": "LBS"},
        "TrackingData": [{"TrackingNumber": awb}],
        "PaymentMethod": "01",
        "SpecialInstruction": f"Return {request.reference}",
    }}


def void_path(awb: str) -> str:
    return VOID_PATH.format(awb=quote(awb.upper(), safe=""))


def track_path(number: str) -> str:
    return TRACK_PATH.format(number=quote(number, safe=""))


def reference_path(reference: str) -> str:
    return REFERENCE_PATH.format(reference=quote(reference, safe=""))


TRACK_QUERY = {"locale": "en_US", "returnSignature": "false", "returnMilestones": "false", "returnPOD": "false"}


# -- responses ------------------------------------------------------------------------------


def check_http(status: int, raw: bytes, retry_after: str | None = None) -> None:
    """Raise for a non-2xx answer, by UPS's error code where the status does not decide.

    Raises: TokenRejected, CarrierAuthError, CarrierUnavailable (429, 5xx, 10429), NotServiceable,
    CarrierRejected.
    """
    if status < 400:
        return
    codes, message = error_codes(raw)
    detail = f"HTTP {status} {','.join(codes) or '-'}: {message}"
    found = set(codes)
    if status == 401 or found & _TOKEN_CODES:
        raise TokenRejected(CARRIER, detail)
    if status == 429 or status >= 500 or found & _TRANSIENT_CODES:
        raise CarrierUnavailable(CARRIER, detail, retry_after_s=_seconds(retry_after))
    if status == 403 or found & _AUTH_CODES:
        raise CarrierAuthError(CARRIER, detail)
    if found & _NOT_SERVICEABLE_CODES:
        raise NotServiceable(CARRIER, detail)
    raise CarrierRejected(CARRIER, detail)


def error_codes(raw: bytes) -> tuple[list[str], str]:
    """Codes and first message of `{"response": {"errors": [...]}}`; empty when it is not one."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return [], raw[:200].decode("utf-8", "replace")
    response = body.get("response") if isinstance(body, dict) else None
    errors = response.get("errors") if isinstance(response, dict) else None
    if not isinstance(errors, list):
        return [], str(body)[:200]
    found = [e for e in errors if isinstance(e, dict)]
    return [str(e.get("code", "")) for e in found], str(found[0].get("message", "")) if found else ""


def parse_token(raw: bytes) -> tuple[str, float]:
    """(access_token, expires_in seconds); UPS sends every number as text. Raises: CarrierResponseInvalid."""
    body = load_object(raw, "token response")
    token = body.get("access_token")
    try:
        expires_in = float(body.get("expires_in", ""))
    except (TypeError, ValueError) as exc:
        raise CarrierResponseInvalid(CARRIER, "token response without expires_in") from exc
    if not isinstance(token, str) or not token:
        raise CarrierResponseInvalid(CARRIER, "token response without access_token")
    return token, expires_in


def parse_shipment(raw: bytes) -> Booking:
    """The return's 1Z tracking number; the GIF label is not kept (see README.md, Labels)."""
    response = load_object(raw, "ship response").get("ShipmentResponse")
    results = response.get("ShipmentResults") if isinstance(response, dict) else None
    if not isinstance(results, dict):
        raise CarrierResponseInvalid(CARRIER, "ship response without ShipmentResults")
    packages = results.get("PackageResults")
    # Before v2403 one package came as an object, from v2403 on always as a list.
    package = packages[0] if isinstance(packages, list) and packages else packages
    if not isinstance(package, dict) or not package.get("TrackingNumber"):
        raise CarrierResponseInvalid(CARRIER, "ship response without a package TrackingNumber")
    label = package.get("ShippingLabel")
    image = label.get("ImageFormat") if isinstance(label, dict) else None
    image_format = image.get("Code", "") if isinstance(image, dict) else ""
    awb = str(package["TrackingNumber"])
    fields = {"shipment_id": str(results.get("ShipmentIdentificationNumber") or awb)}
    if image_format:
        fields["label_format"] = str(image_format)
    return Booking(carrier=CARRIER, awb=awb, label_fields=fields)


def parse_pickup(raw: bytes) -> str:
    """The pickup request number (PRN). Raises: CarrierResponseInvalid."""
    response = load_object(raw, "pickup response").get("PickupCreationResponse")
    prn = response.get("PRN") if isinstance(response, dict) else None
    if not prn:
        raise CarrierResponseInvalid(CARRIER, "pickup response without PRN")
    return str(prn)


def parse_pickup_cancel(raw: bytes) -> None:
    _check_status(load_object(raw, "pickup cancel response").get("PickupCancelResponse"), "pickup cancel")


def parse_void(raw: bytes) -> bool:
    """Whether UPS voided the shipment (SummaryResult.Status.Code "1")."""
    response = load_object(raw, "void response").get("VoidShipmentResponse")
    _check_status(response, "void")
    summary = response.get("SummaryResult") if isinstance(response, dict) else None
    status = summary.get("Status") if isinstance(summary, dict) else None
    return isinstance(status, dict) and str(status.get("Code")) == "1"


def _check_status(response: object, what: str) -> None:
    inner = response.get("Response") if isinstance(response, dict) else None
    status = inner.get("ResponseStatus") if isinstance(inner, dict) else None
    if not isinstance(status, dict) or "Code" not in status:
        raise CarrierResponseInvalid(CARRIER, f"{what} response without Response.ResponseStatus")


def load_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CarrierResponseInvalid(CARRIER, f"{what} is not JSON: {raw[:80]!r}") from exc
    if not isinstance(body, dict):
        raise CarrierResponseInvalid(CARRIER, f"{what} is not a JSON object")
    return body
