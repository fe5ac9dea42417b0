"""Blue Dart's wire for bookings: pure request builders and JSON response parsers, bytes in and out.

Formats come from Blue Dart's API-gateway REST API (see README.md for sources and confidence).
Tracking XML and push bodies are parsed in `scans.py`; its parsers are re-exported here so
callers find every Blue Dart parser in one module. No I/O, no clock, no settings.
"""

from __future__ import annotations

import base64
import binascii
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import partial
from typing import Any

from carriers import wire_json
from carriers.base import Address, Booking, Contact, PickupRequest
from carriers.bluedart.scans import CARRIER as CARRIER
from carriers.bluedart.scans import IST as IST
from carriers.bluedart.scans import parse_reference_lookup as parse_reference_lookup
from carriers.bluedart.scans import parse_scan_time as parse_scan_time
from carriers.bluedart.scans import parse_tracking as parse_tracking
from carriers.bluedart.scans import parse_webhook as parse_webhook
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

_load_object = partial(wire_json.load_object, CARRIER)
_object = partial(wire_json.as_object, CARRIER)

TOKEN_PATH = "/token/v1/login"
FINDER_PATH = "/finder/v1/GetServicesforPincode"
WAYBILL_PATH = "/waybill/v1/GenerateWayBill"
CANCEL_PATH = "/waybill/v1/CancelWaybill"
PICKUP_PATH = "/pickup/v1/RegisterPickup"
TRACK_PATH = "/tracking/v1/shipment"
# Blue Dart documents a comma list in `numbers` but no maximum; 25 is our conservative choice.
MAX_TRACK_BATCH = 25
# Name and address fields longer than this are refused (with an empty 400 body).
FIELD_MAX = 30
REFERENCE_MAX = 20

# Status texts, lower-cased, in the order they are checked (see README.md, "Errors").
_DUPLICATE_MARKERS = ("already generated",)
_ALREADY_CANCELLED_MARKERS = ("already cancel",)
_AUTH_MARKERS = ("licence", "license", "loginid", "login id", "jwt", "unauthori", "balance",
                 "customer code", "customercode")
_NOT_SERVICEABLE_MARKERS = ("not serviceable", "non serviceable", "non-serviceable", "no service")
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_LABEL_FIELDS = ("DestinationArea", "DestinationLocation", "ClusterCode", "TokenNumber")


class DuplicateReference(CarrierRejected):
    """Blue Dart already generated a waybill for this CreditReferenceNo: look it up, never re-book."""

    def __init__(self, detail: str) -> None:
        super().__init__(CARRIER, detail)


@dataclass(frozen=True)
class Account:
    """The account facts a waybill needs besides the pickup itself."""

    customer_code: str
    product_code: str = "A"
    sub_product_code: str = "P"
    pickup_time: str = "1400"


@dataclass(frozen=True)
class PincodeServices:
    """What Blue Dart's location finder says about one PIN code."""

    area_code: str
    has_pickup: bool
    has_delivery: bool


# -- requests -------------------------------------------------------------------------------


def profile(login_id: str, licence_key: str) -> dict[str, str]:
    """The NetConnect profile every body carries ("S" = shipping API user)."""
    return {"LoginID": login_id, "LicenceKey": licence_key, "Api_type": "S"}


def build_finder(pin: str, account_profile: dict[str, str]) -> dict[str, Any]:
    """The location-finder body (lower-case `profile`, no `Request` wrapper)."""
    return {"pinCode": pin, "profile": account_profile}


def build_waybill(request: PickupRequest, *, account_profile: dict[str, str], account: Account,
                  origin_area: str, pickup_date: date) -> dict[str, Any]:
    """A GenerateWayBill body booking a reverse pickup and registering its pickup in the same call.

    The customer is the Shipper (pickup point); the merchant is Consignee and return address.
    Raises: CarrierRejected when the reference or an address does not fit Blue Dart's limits.
    """
    if len(request.reference) > REFERENCE_MAX:
        raise CarrierRejected(CARRIER, f"reference {request.reference!r} is longer than {REFERENCE_MAX} characters")
    pickup, drop = request.pickup_address, request.drop_address
    customer, merchant = request.pickup_contact, request.drop_contact
    return {"Request": {
        "Consignee": _party("Consignee", merchant, drop) | {"ConsigneeAttention": _fit(merchant.name)},
        "Shipper": _party("Customer", customer, pickup) | {
            "CustomerCode": account.customer_code, "OriginArea": origin_area, "IsToPayCustomer": True,
            "Sender": _fit(customer.name)},
        "Returnadds": _return_address(merchant, drop),
        "Services": _services(request, account, pickup_date),
    }, "Profile": account_profile}


def _party(prefix: str, contact: Contact, address: Address) -> dict[str, Any]:
    lines = address_lines(address)
    party = {f"{prefix}Name": _fit(contact.name), f"{prefix}Pincode": address.postcode,
             f"{prefix}Mobile": contact.national_phone}
    party |= {f"{prefix}Address{i}": line for i, line in enumerate(lines, start=1)}
    if contact.email:
        party[f"{prefix}EmailID"] = contact.email
    return party


def _return_address(contact: Contact, address: Address) -> dict[str, Any]:
    lines = address_lines(address)
    fields = {f"ReturnAddress{i}": line for i, line in enumerate(lines, start=1)}
    fields |= {"ReturnPincode": address.postcode, "ReturnMobile": contact.national_phone,
               "ReturnContact": _fit(contact.name)}
    if contact.email:
        fields["ReturnEmailID"] = contact.email
    return fields


def _services(request: PickupRequest, account: Account, pickup_date: date) -> dict[str, Any]:
    parcel = request.parcel
    names = ", ".join(i.name for i in request.items)
    return {
        "ProductCode": account.product_code, "SubProductCode": account.sub_product_code, "ProductType": 1,
        "PieceCount": 1, "ActualWeight": round(parcel.weight_g / 1000, 3),
        "DeclaredValue": float(request.total_value), "CollectableAmount": 0,
        "CreditReferenceNo": request.reference, "InvoiceNo": request.reference,
        "Commodity": {"CommodityDetail1": _fit(names), "CommodityDetail2": _fit(request.reason)},
        "Dimensions": [{"Length": parcel.length_cm, "Breadth": parcel.width_cm, "Height": parcel.height_cm,
                        "Count": 1}],
        "PickupDate": ms_date(pickup_date), "PickupTime": account.pickup_time,
        "RegisterPickup": True, "IsReversePickup": True, "PDFOutputNotRequired": False,
        "SpecialInstruction": _fit(request.reason),
    }


def build_cancel(awb: str, account_profile: dict[str, str]) -> dict[str, Any]:
    return {"Request": {"AWBNo": awb}, "Profile": account_profile}


def build_register_pickup(awb: str, pickup_date: date, *, account_profile: dict[str, str], account: Account,
                          office_close_time: str, contact: Contact | None = None,
                          address: Address | None = None, area_code: str = "") -> dict[str, Any]:
    """A RegisterPickup body asking for a new pickup of an existing reverse waybill on `pickup_date`."""
    request: dict[str, Any] = {
        "AWBNo": [awb], "CustomerCode": account.customer_code, "ProductCode": account.product_code,
        "SubProducts": ["E-Tailing"], "DoxNDox": "2", "NumberofPieces": 1,
        "ShipmentPickupDate": ms_date(pickup_date), "ShipmentPickupTime": account.pickup_time,
        "OfficeCloseTime": office_close_time, "IsReversePickup": True, "ReferenceNo": awb,
    }
    if contact is not None:
        request |= {"CustomerName": _fit(contact.name), "ContactPersonName": _fit(contact.name),
                    "MobileTelNo": contact.national_phone}
    if address is not None:
        lines = address_lines(address)
        request |= {f"CustomerAddress{i}": line for i, line in enumerate(lines, start=1)}
        request |= {"CustomerPincode": address.postcode, "AreaCode": area_code}
    return {"request": request, "profile": account_profile}


def track_params(numbers: Sequence[str], *, login_id: str, licence_key: str,
                 by_reference: bool = False) -> dict[str, str]:
    """The custawbquery parameters for a comma list of AWBs, or of our references (`awb=ref`)."""
    return {"handler": "tnt", "action": "custawbquery", "loginid": login_id, "lickey": licence_key,
            "awb": "ref" if by_reference else "awb", "numbers": ",".join(numbers), "format": "xml",
            "verno": "1", "scan": "1"}


def address_lines(address: Address) -> list[str]:
    """Street (and city, when it fits) in at most three lines of 30 characters.

    Blue Dart routes by PIN code, so the city is dropped first; words are split only as a last resort.
    Raises: CarrierRejected when the street alone is longer than three lines.
    """
    street = ", ".join(p for p in (address.line1, address.line2) if p)
    for text in (f"{street}, {address.city}", street):
        lines = textwrap.wrap(text, FIELD_MAX, break_on_hyphens=False)
        if len(lines) <= 3:
            return lines
    if len(street) <= 3 * FIELD_MAX:
        return [street[i:i + FIELD_MAX] for i in range(0, len(street), FIELD_MAX)]
    raise CarrierRejected(CARRIER, f"street {street!r} does not fit three lines of {FIELD_MAX} characters")


def _fit(text: str) -> str:
    return text[:FIELD_MAX]


def ms_date(day: date) -> str:
    """A date as Blue Dart's Microsoft JSON date: milliseconds at midnight IST."""
    moment = datetime.combine(day, time(0), tzinfo=IST)
    return f"/Date({int(moment.timestamp() * 1000)})/"


def parse_ms_date(value: object) -> datetime | None:
    """A `/Date(ms[+hhmm])/` value as an aware datetime in IST, None when absent or not one."""
    match = _MS_DATE.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    return datetime.fromtimestamp(int(match[1]) / 1000, tz=IST)


# -- responses ------------------------------------------------------------------------------


def check_http(status: int, raw: bytes, retry_after: str | None = None) -> None:
    """Raise for an HTTP status that says more than the body.

    A 4xx with Blue Dart's `error-response` body is left to the operation's parser.
    Raises: CarrierAuthError (401, 403), CarrierUnavailable (429, 5xx), CarrierRejected (other 4xx).
    """
    text = raw[:300].decode("utf-8", "replace")
    if status in (401, 403):
        raise CarrierAuthError(CARRIER, f"HTTP {status}: {text}")
    if status == 429:
        raise CarrierUnavailable(CARRIER, "HTTP 429", retry_after_s=_seconds(retry_after))
    if status >= 500:
        raise CarrierUnavailable(CARRIER, f"HTTP {status}")
    if status >= 400 and '"error-response"' not in text:
        # Blue Dart answers an over-long field with an empty 400.
        raise CarrierRejected(CARRIER, f"HTTP {status}: {text or 'empty body (a field may be too long)'}")


def parse_token(raw: bytes) -> str:
    """The JWT in a login answer. Raises: CarrierAuthError, CarrierResponseInvalid."""
    body = _load_object(raw, "login response")
    token = body.get("JWTToken")
    if isinstance(token, str) and token:
        return token
    raise _status_error(_statuses(body), "login response without JWTToken")


def parse_finder(raw: bytes) -> PincodeServices | None:
    """The services of one PIN code, None when Blue Dart does not know or serve it."""
    body = _load_object(raw, "location finder response")
    result = body.get("GetServicesforPincodeResult")
    if result is None:
        raise _status_error(_statuses(body), "location finder response without a result")
    result = _object(result, "GetServicesforPincodeResult")
    area = str(result.get("AreaCode") or "")
    if result.get("IsError") is True or not area:
        return None
    return PincodeServices(area_code=area, has_pickup=result.get("ApexOutbound") == "Yes",
                           has_delivery=result.get("ApexInbound") == "Yes")


def parse_waybill(raw: bytes) -> Booking:
    """The booking in a GenerateWayBill answer.

    Raises: DuplicateReference, NotServiceable, CarrierRejected, CarrierAuthError, CarrierResponseInvalid.
    """
    body = _load_object(raw, "waybill response")
    result = body.get("GenerateWayBillResult")
    if not isinstance(result, dict):
        raise _status_error(_statuses(body), "waybill response without GenerateWayBillResult")
    awb = result.get("AWBNo")
    if result.get("IsError") is True or not awb:
        raise _status_error(_statuses(body), "waybill refused without a status")
    fields = {k: str(result[k]) for k in _LABEL_FIELDS if result.get(k) not in (None, "")}
    return Booking(carrier=CARRIER, awb=str(awb), carrier_reference=str(result.get("TokenNumber") or ""),
                   pickup_window_start=parse_ms_date(result.get("ShipmentPickupDate")),
                   label_pdf=_pdf(result.get("AWBPrintContent")), label_fields=fields)


def parse_cancel(raw: bytes) -> None:
    """Accept a cancellation, or one already done. Raises: CarrierRejected, CarrierResponseInvalid."""
    body = _load_object(raw, "cancel response")
    result = body.get("CancelWaybillResult")
    statuses = _statuses(body)
    if isinstance(result, dict) and result.get("IsError") is False:
        return
    if _has(" ".join(statuses), _ALREADY_CANCELLED_MARKERS):
        return
    raise _status_error(statuses, "cancel response without a result")


def parse_register_pickup(raw: bytes) -> str:
    """The token number of a registered pickup. Raises: CarrierRejected, CarrierResponseInvalid."""
    body = _load_object(raw, "register pickup response")
    result = body.get("RegisterPickupResult")
    if isinstance(result, dict) and result.get("IsError") is False and result.get("TokenNumber"):
        return str(result["TokenNumber"])
    raise _status_error(_statuses(body), "register pickup response without a token")


def _statuses(body: dict[str, Any]) -> list[str]:
    """Every StatusInformation in a result or an `error-response`, in order."""
    holders: list[Any] = [v for k, v in body.items() if k.endswith("Result")]
    errors = body.get("error-response")
    holders += errors if isinstance(errors, list) else []
    texts: list[str] = []
    for holder in holders:
        status = holder.get("Status") if isinstance(holder, dict) else None
        for entry in status if isinstance(status, list) else []:
            if isinstance(entry, dict):
                texts.append(str(entry.get("StatusInformation") or entry.get("StatusCode") or ""))
    return [t for t in texts if t]


def _status_error(statuses: list[str], fallback: str) -> CarrierError:
    """The error class a Blue Dart status text stands for."""
    if not statuses:
        return CarrierResponseInvalid(CARRIER, fallback)
    text = "; ".join(statuses)
    if _has(text, _DUPLICATE_MARKERS):
        return DuplicateReference(text)
    if _has(text, _AUTH_MARKERS):
        return CarrierAuthError(CARRIER, text)
    if _has(text, _NOT_SERVICEABLE_MARKERS):
        return NotServiceable(CARRIER, text)
    return CarrierRejected(CARRIER, text)


def _pdf(value: object) -> bytes | None:
    """AWBPrintContent: base64 text (.NET byte[]) or a list of byte values; None when absent."""
    try:
        if isinstance(value, str) and value:
            return base64.b64decode(value, validate=True)
        if isinstance(value, list) and value:
            return bytes(value)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise CarrierResponseInvalid(CARRIER, "AWBPrintContent is not a PDF byte array") from exc
    return None
