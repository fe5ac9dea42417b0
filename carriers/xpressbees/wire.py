"""Xpressbees' wire (enterprise "XB" API): pure request builders and response parsers.

Formats and codes come from carriers.md §4.B/§4.C; see README.md for sources and confidence.
No I/O, no clock, no settings: callers pass what a builder needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

from carriers import wire_json
from carriers.base import Address, Booking, CarrierEvent, Contact, PickupRequest
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

CARRIER = "xpressbees"
_load = partial(wire_json.load, CARRIER)
_load_object = partial(wire_json.load_object, CARRIER)
_object = partial(wire_json.as_object, CARRIER)
_text = partial(wire_json.required_text, CARRIER)
IST = timezone(timedelta(hours=5, minutes=30), "IST")

TOKEN_PATH = "/api/auth/generateToken"
MANIFEST_PATH = "/shipmentmanifestation/reverse"
TRACK_PATH = "/TrackingService.svc/GetShipmentSummaryDetails"
CANCEL_PATH = "/POSTShipmentService.svc/RTONotifyShipment"
VERSION_NUMBER = "v1"
SUCCESS_CODE = "100"
# XB's summary answers this per AWB it found; anything else in ReturnMessage means "no scans".
FOUND_MESSAGE = "successful"

# Codes whose Status text is the reason (NDR / pickup-not-done text): it becomes detail_code.
REASON_CODES = frozenset({"PND", "UD"})

# ReturnMessage fragments, lower-cased (see README.md, "Errors"); all [LOW]: XB publishes no list.
_DUPLICATE_MARKERS = ("already exist", "duplicate")
_AUTH_MARKERS = ("token", "unauthori", "invalid xbkey", "invalid business account", "authkey")
_NOT_SERVICEABLE_MARKERS = ("not serviceable", "non serviceable", "non-serviceable", "pincode not")
_CANCEL_DONE_MARKERS = ("already cancel", "already rto")


class DuplicateOrder(CarrierRejected):
    """Xpressbees already holds a reverse manifest for this OrderNo: reuse its AWB, never re-book."""

    def __init__(self, awb: str) -> None:
        super().__init__(CARRIER, f"OrderNo already manifested as {awb}")
        self.awb = awb


class TokenRejected(CarrierAuthError):
    """The API refused the session token (HTTP 401): fetch a new one and retry once."""


# -- requests -------------------------------------------------------------------------------


def build_token_request(username: str, password: str, secret_key: str) -> dict[str, str]:
    return {"username": username, "password": password, "secretkey": secret_key}


def build_manifest(request: PickupRequest, *, business_account: str) -> dict[str, Any]:
    """The reverse-manifest body: PickupDetails is the customer, DropDetails the merchant."""
    parcel, items = request.parcel, request.items
    return {
        "AirWayBillNO": "",  # blank: Xpressbees assigns the AWB
        "OrderNo": request.reference,
        "BusinessAccountName": business_account,
        "ProductID": ",".join(i.sku for i in items),
        "ProductName": ", ".join(i.name for i in items),
        "Quantity": str(sum(i.quantity for i in items)),
        "ProductMRP": str(request.total_value),
        "CollectibleAmount": "0",
        "Instruction": request.reason,
        "IsCommercialProperty": "",
        "PickupDetails": _party(request.pickup_address, request.pickup_contact)
        | {"PickupSlotsDate": request.pickup_date.strftime("%d-%m-%Y") if request.pickup_date else "",
           "IsPickupPriority": "", "PriorityRemarks": ""},
        "DropDetails": _party(request.drop_address, request.drop_contact),
        "PackageDetails": {
            "Dimensions": {"Length": f"{parcel.length_cm:g}", "Width": f"{parcel.width_cm:g}",
                           "Height": f"{parcel.height_cm:g}"},
            # Kilograms, as in Xpressbees' pre-ship manifest sample.
            "Weight": {"BillableWeight": _kg(parcel.chargeable_weight_g), "VolWeight": _kg(parcel.volumetric_weight_g),
                       "PhyWeight": _kg(parcel.weight_g)},
        },
    }


def _party(address: Address, contact: Contact) -> dict[str, Any]:
    street = ", ".join(p for p in (address.line1, address.line2) if p)
    return {
        "Addresses": [{"Type": "Primary", "Name": contact.name, "Address": street, "City": address.city,
                       "State": address.state, "PinCode": address.postcode, "EmailID": contact.email or "",
                       "Landmark": ""}],
        "ContactDetails": [{"Type": "Primary", "PhoneNo": contact.national_phone, "VirtualNumber": ""}],
    }


def _kg(grams: int) -> str:
    return f"{grams / 1000:.3f}"


def build_track(awbs: Sequence[str], *, xb_key: str) -> dict[str, str]:
    """The summary-tracking body: AWBs comma-separated in one string."""
    return {"AWBNo": ",".join(awbs), "XBkey": xb_key}


def build_cancel(awb: str, *, xb_key: str, reason: str = "Cancelled by merchant") -> dict[str, str]:
    return {"XBkey": xb_key, "AWBNumber": awb, "RTOReason": reason}


# -- responses ------------------------------------------------------------------------------


def check_http(status: int, raw: bytes, retry_after: str | None = None) -> None:
    """Raise for an HTTP status that says something before the body does.

    Raises: TokenRejected (401), CarrierAuthError (403), CarrierUnavailable (429, 5xx),
    CarrierRejected (other 4xx).
    """
    text = raw[:300].decode("utf-8", "replace")
    if status == 401:
        raise TokenRejected(CARRIER, f"HTTP 401: {text}")
    if status == 403:
        raise CarrierAuthError(CARRIER, f"HTTP 403: {text}")
    if status == 429:
        raise CarrierUnavailable(CARRIER, "HTTP 429", retry_after_s=_seconds(retry_after))
    if status >= 500:
        raise CarrierUnavailable(CARRIER, f"HTTP {status}")
    if status >= 400:
        raise CarrierRejected(CARRIER, f"HTTP {status}: {text}")


def parse_token(raw: bytes) -> str:
    """The session token. Raises: CarrierAuthError, CarrierResponseInvalid."""
    body = _load_object(raw, "token response")
    token = body.get("token")
    if isinstance(token, str) and token:
        return token
    if body.get("error") or body.get("message"):
        raise CarrierAuthError(CARRIER, str(body.get("error") or body.get("message")))
    raise CarrierResponseInvalid(CARRIER, "token response without token")


def parse_manifest(raw: bytes, reference: str) -> Booking:
    """The booking in a reverse-manifest response.

    Raises: DuplicateOrder, NotServiceable, CarrierRejected, CarrierAuthError, CarrierResponseInvalid.
    """
    body = _load_object(raw, "manifest response")
    if "ReturnCode" not in body:
        raise CarrierResponseInvalid(CARRIER, "manifest response without ReturnCode")
    awb = str(body.get("AWBNo") or "")
    if str(body["ReturnCode"]) == SUCCESS_CODE and awb:
        return Booking(carrier=CARRIER, awb=awb, carrier_reference=reference)
    message = str(body.get("ReturnMessage") or f"ReturnCode {body['ReturnCode']} without a message")
    if awb and _has(message, _DUPLICATE_MARKERS):
        raise DuplicateOrder(awb)
    raise _message_error(message)


def _message_error(message: str) -> CarrierError:
    if _has(message, _AUTH_MARKERS):
        return CarrierAuthError(CARRIER, message)
    if _has(message, _NOT_SERVICEABLE_MARKERS):
        return NotServiceable(CARRIER, message)
    return CarrierRejected(CARRIER, message)


def parse_tracking(raw: bytes) -> list[CarrierEvent]:
    """Every scan of every AWB in a summary response; an AWB without details yields none.

    Raises: CarrierAuthError (XBkey refused), CarrierResponseInvalid.
    """
    body = _load(raw, "tracking response")
    if not isinstance(body, list):
        raise CarrierResponseInvalid(CARRIER, "tracking response is not a list")
    events: list[CarrierEvent] = []
    for entry in body:
        shipment = _object(entry, "tracking entry")
        if str(shipment.get("AuthKey", "Valid")).lower() != "valid":
            raise CarrierAuthError(CARRIER, str(shipment.get("ReturnMessage") or "XBkey refused"))
        if str(shipment.get("ReturnMessage", "")).lower() != FOUND_MESSAGE:
            continue
        summary = shipment.get("ShipmentSummary") or []
        if not isinstance(summary, list):
            raise CarrierResponseInvalid(CARRIER, "ShipmentSummary is not a list")
        awb = _text(shipment, "AWBNo")
        events += [_scan_event(awb, _object(scan, "ShipmentSummary entry")) for scan in summary]
    return events


def _scan_event(awb: str, scan: dict[str, Any]) -> CarrierEvent:
    code = _text(scan, "StatusCode")
    status = str(scan.get("Status") or "")
    return CarrierEvent(
        carrier=CARRIER, awb=awb, code=code, detail_code=reason_key(code, status), description=status,
        location=str(scan.get("Location") or ""), remarks=str(scan.get("Comment") or ""),
        occurred_at=parse_ist(scan.get("StatusDate"), scan.get("StatusTime")),
    )


def reason_key(code: str, status_text: str) -> str:
    """The detail_code of a scan: its reason text, lower-cased and spaced once, for PND/UD only."""
    return " ".join(status_text.split()).lower() if code in REASON_CODES else ""


def parse_cancel(raw: bytes) -> None:
    """Accept an RTO-notify (cancel), or one already done. Raises: CarrierRejected, CarrierResponseInvalid."""
    body = _load_object(raw, "cancel response")
    if "ReturnCode" not in body:
        raise CarrierResponseInvalid(CARRIER, "cancel response without ReturnCode")
    message = str(body.get("ReturnMessage") or "")
    if str(body["ReturnCode"]) == SUCCESS_CODE or _has(message, _CANCEL_DONE_MARKERS):
        return
    raise _message_error(message or f"cancel refused with ReturnCode {body['ReturnCode']}")


def parse_ist(day: object, time: object) -> datetime:
    """An XB `dd-mm-yyyy` date and `HHMM` time (IST, no offset) as an aware datetime."""
    if not isinstance(day, str) or not isinstance(time, str):
        raise CarrierResponseInvalid(CARRIER, f"timestamp missing: {day!r} {time!r}")
    try:
        parsed = datetime.strptime(f"{day} {time.replace(':', '')}", "%d-%m-%Y %H%M")  # noqa: DTZ007
    except ValueError as exc:
        raise CarrierResponseInvalid(CARRIER, f"bad timestamp {day!r} {time!r}") from exc
    return parsed.replace(tzinfo=IST)


# -- helpers --------------------------------------------------------------------------------
