"""USPS's wire (APIs v3): OAuth, payment authorization, return label, carrier pickup; bytes in and out.

Tracking lives in `wire_tracking.py`. Formats come from USPS's OpenAPI specs (labels 3.9, carrier
pickup 3.1, tracking 3.2, oauth2 v3); see README.md for sources and confidence. Pure: no I/O, no clock.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import quote, urlencode

from carriers.base import Address, Booking, Contact, PickupRequest
from carriers.errors import (
    CarrierAuthError,
    CarrierRejected,
    CarrierResponseInvalid,
    CarrierUnavailable,
    NotServiceable,
)
from carriers.retry import retry_after_s as _seconds

CARRIER = "usps"
TOKEN_PATH = "/oauth2/v3/token"
PAYMENT_PATH = "/payments/v3/payment-authorization"
RETURN_LABEL_PATH = "/labels/v3/return-label"
LABEL_PATH = "/labels/v3/label"
PICKUP_PATH = "/pickup/v3/carrier-pickup"
TRACKING_PATH = "/tracking/v3/tracking"
SCOPES = "labels pickup tracking payments"
PAYMENT_HEADER = "X-Payment-Authorization-Token"
IDEMPOTENCY_HEADER = "X-Idempotency-Key"
# About 8 h [3P]; the payment answer carries no expiry, so this is our assumption.
PAYMENT_TOKEN_LIFETIME_S = 8 * 3600
_GRAMS_PER_LB = 453.59237
_CM_PER_IN = 2.54
# One key per return: a retried label request replays the first label instead of buying another.
_IDEMPOTENCY_NAMESPACE = uuid.UUID("5b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d")
_NOT_SERVICEABLE_MARKERS = ("not eligible", "pickup is not available", "not available for this address")
_ALREADY = ("already canceled", "already cancelled")


class TokenRejected(CarrierAuthError):
    """USPS refused the bearer token (HTTP 401): fetch a new one and try once more."""


def label_path(tracking_number: str) -> str:
    return f"{LABEL_PATH}/{quote(tracking_number, safe='')}"


def pickup_path(confirmation: str) -> str:
    return f"{PICKUP_PATH}/{quote(confirmation, safe='')}"


def idempotency_key(reference: str) -> str:
    """The same UUID for every attempt to label one return."""
    return str(uuid.uuid5(_IDEMPOTENCY_NAMESPACE, reference))


# -- requests -------------------------------------------------------------------------------


def build_token(client_id: str, client_secret: str) -> bytes:
    """The form body of a client-credentials token request."""
    return urlencode({"grant_type": "client_credentials", "client_id": client_id,
                      "client_secret": client_secret, "scope": SCOPES}).encode()


def build_payment_authorization(*, crid: str, mid: str, manifest_mid: str, account_type: str,
                                account_number: str) -> dict[str, Any]:
    """The body asking for a Payment Authorization Token: we own the label and pay for it."""
    payer = {"roleName": "PAYER", "CRID": crid, "MID": mid, "accountType": account_type,
             "accountNumber": account_number}
    owner = dict(payer, roleName="LABEL_OWNER", manifestMID=manifest_mid or mid)
    return {"roles": [owner, payer]}


def build_return_label(request: PickupRequest, *, mail_class: str, rate_indicator: str,
                       processing_category: str) -> dict[str, Any]:
    """The POST /labels/v3/return-label body: from the consumer to the warehouse."""
    parcel = request.parcel
    return {
        "imageInfo": {"imageType": "PDF", "labelType": "4X6LABEL", "receiptOption": "NONE"},
        "toAddress": address(request.drop_address, request.drop_contact, is_firm=True),
        "fromAddress": address(request.pickup_address, request.pickup_contact),
        "packageDescription": {
            "mailClass": mail_class, "rateIndicator": rate_indicator, "processingCategory": processing_category,
            "weightUOM": "lb", "weight": pounds(parcel.weight_g), "dimensionsUOM": "in",
            "length": inches(parcel.length_cm), "width": inches(parcel.width_cm),
            "height": inches(parcel.height_cm),
            "customerReference": [{"referenceNumber": request.reference}],
        },
    }


def address(place: Address, contact: Contact, *, is_firm: bool = False) -> dict[str, str]:
    """A `DomesticLabelAddress`: ZIP and ZIP+4 apart, a 10-digit phone."""
    first, _, last = contact.name.partition(" ")
    body = _street(place)
    body |= {"firm": contact.name} if is_firm else {"firstName": first, "lastName": last or first}
    body["phone"] = contact.national_phone
    if contact.email:
        body["email"] = contact.email
    return body


def build_pickup(request: PickupRequest, *, pickup_date: str, package_location: str) -> dict[str, Any]:
    """The POST /pickup/v3/carrier-pickup body: one returns package at the consumer's door."""
    return pickup_body(request.pickup_address, request.pickup_contact, pickup_date=pickup_date,
                       weight_lb=pounds(request.parcel.weight_g), package_location=package_location,
                       instructions=f"Return {request.reference}")


def pickup_body(place: Address, contact: Contact, *, pickup_date: str, weight_lb: float,
                package_location: str, instructions: str) -> dict[str, Any]:
    return {"pickupDate": pickup_date,
            "pickupAddress": {**_pickup_person(contact), "address": _street(place)},
            "packages": [{"packageType": "RETURNS", "packageCount": 1}], "estimatedWeight": weight_lb,
            "pickupLocation": {"packageLocation": package_location, "specialInstructions": instructions}}


def moved_pickup(stored: dict[str, Any], *, pickup_date: str, place: Address | None = None,
                 contact: Contact | None = None) -> dict[str, Any]:
    """A pickup body as USPS holds it, moved to `pickup_date` with the address or contact replaced."""
    person = dict(stored.get("pickupAddress") or {})
    if contact is not None:
        person |= _pickup_person(contact)
    if place is not None:
        person["address"] = _street(place)
    return {**stored, "pickupDate": pickup_date, "pickupAddress": person}


def _pickup_person(contact: Contact) -> dict[str, Any]:
    first, _, last = contact.name.partition(" ")
    reach: dict[str, str] = {"email": contact.email} if contact.email else {"phone": contact.national_phone}
    return {"firstName": first, "lastName": last or first, "contact": [reach]}


def _street(place: Address) -> dict[str, str]:
    zip5, _, plus4 = place.postcode.partition("-")
    street = {"streetAddress": place.line1, "city": place.city, "state": place.state, "ZIPCode": zip5}
    if place.line2:
        street["secondaryAddress"] = place.line2
    if plus4:
        street["ZIPPlus4"] = plus4
    return street


def pounds(grams: int) -> float:
    return round(grams / _GRAMS_PER_LB, 2)


def inches(cm: float) -> float:
    return round(cm / _CM_PER_IN, 1)


# -- responses ------------------------------------------------------------------------------


def check_http(status: int, raw: bytes, retry_after: str | None = None) -> None:
    """Raise for a non-2xx answer by class.

    Raises: TokenRejected (401), CarrierAuthError (403), CarrierUnavailable (429, 5xx),
    NotServiceable (pickup not available there), CarrierRejected (other 4xx).
    """
    if status < 400:
        return
    text = error_text(raw)
    if status == 401:
        raise TokenRejected(CARRIER, f"HTTP 401: {text}")
    if status == 403:
        raise CarrierAuthError(CARRIER, f"HTTP 403: {text}")
    if status == 429:
        raise CarrierUnavailable(CARRIER, "HTTP 429", retry_after_s=_seconds(retry_after))
    if status >= 500:
        raise CarrierUnavailable(CARRIER, f"HTTP {status}")
    if any(m in text.lower() for m in _NOT_SERVICEABLE_MARKERS):
        raise NotServiceable(CARRIER, text)
    raise CarrierRejected(CARRIER, f"HTTP {status}: {text}")


def error_text(raw: bytes) -> str:
    """The message and details of a USPS error envelope (or an OAuth error), else the start of the body."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return raw[:200].decode("utf-8", "replace")
    if not isinstance(body, dict):
        return str(body)[:200]
    if "error_description" in body or isinstance(body.get("error"), str):
        return f"{body.get('error')}: {body.get('error_description', '')}"
    found = body.get("error")
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    parts = [str(error.get("message") or "")]
    for item in error.get("errors") or []:
        if isinstance(item, dict):
            parts.append(str(item.get("detail") or item.get("title") or ""))
    return "; ".join(p for p in parts if p) or str(body)[:200]


def is_already_cancelled(raw: bytes) -> bool:
    return any(m in error_text(raw).lower() for m in _ALREADY)


def parse_token(raw: bytes) -> tuple[str, float]:
    """(access_token, expires_in seconds) from a token answer."""
    body = load_object(raw, "token response")
    token, expires_in = body.get("access_token"), body.get("expires_in")
    if not token or not isinstance(expires_in, int | float | str):
        raise CarrierResponseInvalid(CARRIER, "token response without access_token/expires_in")
    try:
        return str(token), float(expires_in)
    except ValueError as exc:
        raise CarrierResponseInvalid(CARRIER, f"expires_in is not a number: {expires_in!r}") from exc


def parse_payment_token(raw: bytes) -> str:
    token = load_object(raw, "payment authorization").get("paymentAuthorizationToken")
    if not token:
        raise CarrierResponseInvalid(CARRIER, "payment authorization without paymentAuthorizationToken")
    return str(token)


def parse_return_label(raw: bytes, content_type: str) -> Booking:
    """The booking in a multipart/form-data return-label answer: tracking number and label PDF."""
    parts = multipart_parts(raw, content_type)
    metadata = load_object(parts.get("returnLabelMetadata", b""), "returnLabelMetadata")
    awb = metadata.get("trackingNumber")
    if not awb:
        raise CarrierResponseInvalid(CARRIER, "returnLabelMetadata without trackingNumber")
    image = parts.get("returnLabelImage")
    try:
        pdf = base64.b64decode(image.strip(), validate=True) if image else None
    except binascii.Error as exc:
        raise CarrierResponseInvalid(CARRIER, "returnLabelImage is not base64") from exc
    fields = {k: str(metadata[k]) for k in ("postage", "zone", "SKU", "mailingDate", "serviceTypeCode")
              if metadata.get(k) not in (None, "")}
    return Booking(carrier=CARRIER, awb=str(awb), label_pdf=pdf, label_fields=fields)


def multipart_parts(raw: bytes, content_type: str) -> dict[str, bytes]:
    """The parts of a multipart/form-data body by form name. Raises: CarrierResponseInvalid."""
    if not content_type.lower().startswith("multipart/"):
        raise CarrierResponseInvalid(CARRIER, f"expected multipart/form-data, got {content_type or 'nothing'}")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + raw)
    parts: dict[str, bytes] = {}
    for part in message.iter_parts() if message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition") if isinstance(part, Message) else None
        payload = part.get_payload(decode=True) if isinstance(part, Message) else None
        if isinstance(name, str) and isinstance(payload, bytes):
            parts[name] = payload
    if not parts:
        raise CarrierResponseInvalid(CARRIER, "multipart body without parts")
    return parts


def parse_pickup(raw: bytes) -> tuple[str, str]:
    """(confirmationNumber, pickupDate) of a scheduled pickup; the date may differ from the one asked."""
    body = load_object(raw, "pickup response")
    number = body.get("confirmationNumber")
    if not number:
        raise CarrierResponseInvalid(CARRIER, "pickup response without confirmationNumber")
    return str(number), str(body.get("pickupDate") or "")


def parse_pickup_request(raw: bytes) -> dict[str, Any]:
    """The pickup body USPS holds (GET answer): `carrierPickupRequest`, or the echo at top level as in USPSEX."""
    body = load_object(raw, "pickup answer")
    echo = body.get("carrierPickupRequest")
    if isinstance(echo, dict):
        return echo
    return {k: v for k, v in body.items() if k != "confirmationNumber"}


def parse_label_cancel(raw: bytes) -> str:
    """CANCELED (no postage used) or DISPUTED (a refund dispute was opened)."""
    status = load_object(raw, "label cancel response").get("status")
    if status not in ("CANCELED", "DISPUTED"):
        raise CarrierResponseInvalid(CARRIER, f"label cancel status {status!r}")
    return str(status)


def load_object(raw: bytes, what: str) -> dict[str, Any]:
    """A JSON object. Raises: CarrierResponseInvalid."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CarrierResponseInvalid(CARRIER, f"{what} is not JSON: {raw[:80]!r}") from exc
    if not isinstance(body, dict):
        raise CarrierResponseInvalid(CARRIER, f"{what} is not a JSON object")
    return body
