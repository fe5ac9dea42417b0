"""FedEx's wire: pure request builders and response parsers for the Ship, Pickup and Track APIs.

Formats and codes come from FedEx's OpenAPI files and API reference; see README.md for sources
and confidence. No I/O, no clock, no settings: callers pass what a builder needs. Tracking and
webhook parsing live in `wire_track.py`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from carriers.base import Address, Booking, Contact, PickupRequest
from carriers.errors import (
    CarrierAuthError,
    CarrierRejected,
    CarrierResponseInvalid,
    CarrierUnavailable,
)
from carriers.retry import retry_after_s as _seconds

CARRIER = "fedex"

TOKEN_PATH = "/oauth/token"
SHIP_PATH = "/ship/v1/shipments"
SHIP_CANCEL_PATH = "/ship/v1/shipments/cancel"
PICKUP_PATH = "/pickup/v1/pickups"
PICKUP_CANCEL_PATH = "/pickup/v1/pickups/cancel"
AVAILABILITY_PATH = "/pickup/v1/pickups/availabilities"
TRACK_PATH = "/track/v1/trackingnumbers"
REFERENCE_PATH = "/track/v1/referencenumbers"

# Our return reference is printed on the package and is what a lost booking is found by.
REFERENCE_TYPE = "CUSTOMER_REFERENCE"
# Error codes that mean the account or project is wrong, not the request (carriers.md §1.3).
_AUTH_CODES = frozenset({"NOT.AUTHORIZED.ERROR", "FORBIDDEN.ERROR", "SHIPMENT.USER.UNAUTHORIZED",
                         "ACCOUNTNUMBER.REGISTRATION.REQUIRED", "LOGIN.REAUTHENTICATE.ERROR",
                         "UNAUTHORIZED.USAGE"})
_TRANSIENT_CODES = frozenset({"INTERNAL.SERVER.ERROR", "SERVICE.UNAVAILABLE.ERROR"})
_GRAMS_PER_LB = 453.59237
_CM_PER_IN = 2.54


class TokenRejected(CarrierAuthError):
    """FedEx answered 401 to a bearer token: fetch a new one and try once more."""


@dataclass(frozen=True)
class PickupHandle:
    """What FedEx needs to cancel an on-call pickup: it has no lookup, so we keep this."""

    confirmation_code: str
    scheduled_date: date
    carrier_code: str
    location: str = ""

    @property
    def reference(self) -> str:
        """The handle as `Booking.carrier_reference`: `code:date:carrier[:location]`, all cancel needs."""
        return ":".join(p for p in (self.confirmation_code, self.scheduled_date.isoformat(), self.carrier_code,
                                    self.location) if p)

    @classmethod
    def from_reference(cls, reference: str) -> PickupHandle | None:
        """The handle in a `reference`, None for one without a date (a bare code from an older booking)."""
        parts = reference.split(":")
        if len(parts) not in (3, 4) or not all(parts):
            return None
        try:
            day = date.fromisoformat(parts[1])
        except ValueError:
            return None
        return cls(parts[0], day, parts[2], parts[3] if len(parts) == 4 else "")


# -- requests -------------------------------------------------------------------------------


def build_token_form(api_key: str, secret_key: str) -> bytes:
    """The form-encoded client-credentials grant."""
    form = {"grant_type": "client_credentials", "client_id": api_key, "client_secret": secret_key}
    return urlencode(form).encode()


def _party(contact: Contact, address: Address, *, residential: bool) -> dict[str, Any]:
    streets = [line for line in (address.line1, address.line2) if line]
    return {
        "contact": {"personName": contact.name, "phoneNumber": contact.national_phone,
                    **({"emailAddress": contact.email} if contact.email else {})},
        "address": {"streetLines": streets, "city": address.city, "stateOrProvinceCode": address.state,
                    "postalCode": address.postcode, "countryCode": address.country, "residential": residential},
    }


def weight_lb(grams: int) -> float:
    """Pounds to one decimal, never below FedEx's 0.1 lb minimum."""
    return max(round(grams / _GRAMS_PER_LB, 1), 0.1)


def _inches(cm: float) -> int:
    return max(math.ceil(cm / _CM_PER_IN), 1)


def build_return_shipment(request: PickupRequest, *, account_number: str, service_type: str) -> dict[str, Any]:
    """A printed return label (RETURN_SHIPMENT / PRINT_RETURN_LABEL) from the customer to the warehouse."""
    parcel = request.parcel
    account = {"value": account_number}
    package = {
        "weight": {"units": "LB", "value": weight_lb(parcel.weight_g)},
        "dimensions": {"length": _inches(parcel.length_cm), "width": _inches(parcel.width_cm),
                       "height": _inches(parcel.height_cm), "units": "IN"},
        "customerReferences": [{"customerReferenceType": REFERENCE_TYPE, "value": request.reference}],
        "itemDescription": ", ".join(i.name for i in request.items)[:50],
    }
    return {
        "accountNumber": account,
        "labelResponseOptions": "LABEL",
        "requestedShipment": {
            "shipper": _party(request.pickup_contact, request.pickup_address, residential=True),
            "recipients": [_party(request.drop_contact, request.drop_address, residential=False)],
            # A drop-off return says so (carriers.md §1.4); otherwise we book the on-call pickup ourselves.
            "pickupType": "DROPOFF_AT_FEDEX_LOCATION" if request.drop_off else "CONTACT_FEDEX_TO_SCHEDULE",
            "serviceType": service_type,
            "packagingType": "YOUR_PACKAGING",
            "totalWeight": weight_lb(parcel.weight_g),
            "shippingChargesPayment": {"paymentType": "RECIPIENT",
                                       "payor": {"responsibleParty": {"accountNumber": account}}},
            "shipmentSpecialServices": {
                "specialServiceTypes": ["RETURN_SHIPMENT"],
                "returnShipmentDetail": {"returnType": "PRINT_RETURN_LABEL",
                                         "rma": {"reason": (request.reason or request.reference)[:60]}},
            },
            "labelSpecification": {"imageType": "PDF", "labelStockType": "PAPER_4X6"},
            "requestedPackageLineItems": [package],
        },
    }


def build_pickup(request: PickupRequest, awb: str, *, account_number: str, carrier_code: str,
                 pickup_date: date) -> dict[str, Any]:
    """An on-call pickup at the customer's door for one return package."""
    location = _party(request.pickup_contact, request.pickup_address, residential=True)
    location["address"].pop("residential")
    return {
        "associatedAccountNumber": {"value": account_number},
        "carrierCode": carrier_code,
        "pickupType": "ON_CALL",
        "originDetail": {
            "pickupLocation": location,
            "pickupAddressType": "OTHER",
            "packageLocation": "FRONT",
            # Local time at the pickup address; FedEx ignores any offset here.
            "readyDateTimestamp": f"{pickup_date.isoformat()}T09:00:00",
            "customerCloseTime": "17:00:00",
        },
        "packageCount": 1,
        "totalWeight": {"units": "LB", "value": weight_lb(request.parcel.weight_g)},
        "trackingNumber": awb,
        "remarks": f"Return {request.reference}"[:60],
        "countryRelationships": "DOMESTIC" if request.pickup_address.country == request.drop_address.country
        else "INTERNATIONAL",
    }


def build_pickup_cancel(handle: PickupHandle, *, account_number: str) -> dict[str, Any]:
    body: dict[str, Any] = {"associatedAccountNumber": {"value": account_number},
                            "pickupConfirmationCode": handle.confirmation_code,
                            "scheduledDate": handle.scheduled_date.isoformat(), "carrierCode": handle.carrier_code}
    if handle.location:
        body["location"] = handle.location
    return body


def build_availability(address: Address, *, carrier_code: str, is_domestic: bool) -> dict[str, Any]:
    return {
        "pickupAddress": {"streetLines": [address.line1], "city": address.city,
                          "stateOrProvinceCode": address.state, "postalCode": address.postcode,
                          "countryCode": address.country, "residential": True},
        "pickupRequestType": ["FUTURE_DAY"],
        "carriers": [carrier_code],
        "countryRelationship": "DOMESTIC" if is_domestic else "INTERNATIONAL",
    }


def build_cancel(awb: str, *, account_number: str, country: str = "US") -> dict[str, Any]:
    return {"accountNumber": {"value": account_number}, "trackingNumber": awb, "emailShipment": False,
            "senderCountryCode": country, "deletionControl": "DELETE_ALL_PACKAGES"}


def build_track(awbs: list[str]) -> dict[str, Any]:
    return {"includeDetailedScans": True,
            "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": awb}} for awb in awbs]}


def build_reference_lookup(reference: str, *, account_number: str) -> dict[str, Any]:
    return {"referencesInformation": {"type": REFERENCE_TYPE, "value": reference, "accountNumber": account_number},
            "includeDetailedScans": False}


# -- responses ------------------------------------------------------------------------------


def check_http(status: int, raw: bytes, retry_after: str | None = None) -> None:
    """Raise for a non-2xx answer, by FedEx's error code where the status does not decide.

    Raises: TokenRejected (401), CarrierAuthError (403, account codes), CarrierUnavailable
    (429, 5xx), CarrierRejected (other 4xx).
    """
    if status < 400:
        return
    codes, message = error_codes(raw)
    detail = f"HTTP {status} {','.join(codes) or '-'}: {message}"
    if status == 401:
        raise TokenRejected(CARRIER, detail)
    if status == 429:
        raise CarrierUnavailable(CARRIER, detail, retry_after_s=_seconds(retry_after))
    if status >= 500 or set(codes) & _TRANSIENT_CODES:
        raise CarrierUnavailable(CARRIER, detail)
    if status == 403 or set(codes) & _AUTH_CODES:
        raise CarrierAuthError(CARRIER, detail)
    raise CarrierRejected(CARRIER, detail)


def error_codes(raw: bytes) -> tuple[list[str], str]:
    """The codes and first message of an `errors[]` envelope; empty when the body is not one."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return [], raw[:200].decode("utf-8", "replace")
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return [], str(body)[:200]
    found = [e for e in errors if isinstance(e, dict)]
    return [str(e.get("code", "")) for e in found], str(found[0].get("message", "")) if found else ""


def parse_token(raw: bytes) -> tuple[str, float]:
    """(access_token, expires_in seconds). Raises: CarrierResponseInvalid."""
    body = output_of(raw, "token response", envelope=False)
    token, expires_in = body.get("access_token"), body.get("expires_in")
    if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
        raise CarrierResponseInvalid(CARRIER, "token response without access_token/expires_in")
    return token, float(expires_in)


def parse_shipment(raw: bytes) -> Booking:
    """The return label: tracking number and the PDF FedEx encoded in the answer."""
    output = output_of(raw, "ship response")
    shipments = output.get("transactionShipments")
    if not isinstance(shipments, list) or not shipments or not isinstance(shipments[0], dict):
        raise CarrierResponseInvalid(CARRIER, "ship response without transactionShipments")
    shipment = shipments[0]
    awb = str(shipment.get("masterTrackingNumber") or "")
    pieces = shipment.get("pieceResponses") or []
    piece = pieces[0] if isinstance(pieces, list) and pieces and isinstance(pieces[0], dict) else {}
    awb = awb or str(piece.get("trackingNumber") or "")
    if not awb:
        raise CarrierResponseInvalid(CARRIER, "ship response without a tracking number")
    label_pdf, fields = _label(piece)
    fields |= {k: str(shipment[k]) for k in ("serviceType", "shipDatestamp") if shipment.get(k)}
    return Booking(carrier=CARRIER, awb=awb, label_pdf=label_pdf, label_fields=fields)


def _label(piece: dict[str, Any]) -> tuple[bytes | None, dict[str, str]]:
    for doc in piece.get("packageDocuments") or []:
        if not isinstance(doc, dict) or doc.get("contentType") != "LABEL":
            continue
        if doc.get("encodedLabel") and doc.get("docType") == "PDF":
            try:
                return base64.b64decode(str(doc["encodedLabel"]), validate=True), {}
            except binascii.Error as exc:
                raise CarrierResponseInvalid(CARRIER, "label is not base64") from exc
        if doc.get("url"):
            return None, {"label_url": str(doc["url"])}
    return None, {}


def parse_pickup(raw: bytes, *, scheduled_date: date, carrier_code: str) -> PickupHandle:
    output = output_of(raw, "pickup response")
    code = output.get("pickupConfirmationCode")
    if not code:
        raise CarrierResponseInvalid(CARRIER, "pickup response without pickupConfirmationCode")
    return PickupHandle(str(code), scheduled_date, carrier_code, str(output.get("location") or ""))


def parse_pickup_cancel(raw: bytes) -> None:
    if not output_of(raw, "pickup cancel response").get("pickupConfirmationCode"):
        raise CarrierResponseInvalid(CARRIER, "pickup cancel response without pickupConfirmationCode")


def parse_cancel(raw: bytes) -> bool:
    """Whether FedEx cancelled the shipment (false: it refused, e.g. already cancelled or moving)."""
    value = output_of(raw, "cancel response").get("cancelledShipment")
    if not isinstance(value, bool):
        raise CarrierResponseInvalid(CARRIER, "cancel response without cancelledShipment")
    return value


def parse_availability(raw: bytes, *, carrier_code: str) -> bool:
    """Whether FedEx offers a pickup of `carrier_code` at the address asked about."""
    options = output_of(raw, "availability response").get("options")
    if not isinstance(options, list):
        raise CarrierResponseInvalid(CARRIER, "availability response without options")
    return any(isinstance(o, dict) and o.get("carrier") == carrier_code and o.get("available") is True
               for o in options)


def output_of(raw: bytes, what: str, *, envelope: bool = True) -> dict[str, Any]:
    """The `output` object of FedEx's `{transactionId, output}` envelope (or the whole body)."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CarrierResponseInvalid(CARRIER, f"{what} is not JSON: {raw[:80]!r}") from exc
    if envelope and isinstance(body, dict):
        body = body.get("output")
    if not isinstance(body, dict):
        raise CarrierResponseInvalid(CARRIER, f"{what} has no output object")
    return body
