"""Delhivery's wire: pure request builders and response parsers, bytes in and out.

Formats and codes come from Delhivery's B2C API docs; see README.md for sources and confidence.
No I/O, no clock, no settings: callers pass what a builder needs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any
from urllib.parse import quote

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
from carriers.wire_json import mentions_any as _has

CARRIER = "delhivery"
_load = partial(wire_json.load, CARRIER)
_load_object = partial(wire_json.load_object, CARRIER)
_object = partial(wire_json.as_object, CARRIER)
_text = partial(wire_json.required_text, CARRIER)
IST = timezone(timedelta(hours=5, minutes=30), "IST")

CREATE_PATH = "/api/cmu/create.json"
EDIT_PATH = "/api/p/edit"
NDR_PATH = "/api/p/update"
TRACK_PATH = "/api/v1/packages/json/"
PINCODE_PATH = "/c/api/pin-codes/json/"
PACKING_SLIP_PATH = "/api/p/packing_slip"

# Remark fragments, lower-cased, in the order they are checked (see README.md, "Errors").
_AUTH_MARKERS = ("authentication credentials", "invalid token", "login or api key", "clientwarehouse",
                 "client-warehouse", "client is not active", "end_date", "asked to not let you see",
                 "insufficient balance", "shipment list contains no data")
_NOT_SERVICEABLE_MARKERS = ("non serviceable pincode", "not serviceable",
                            "available capacity of this pincode")
_NO_DATA_MARKERS = ("data does not exists", "no such waybill")
_LABEL_FIELDS = ("wbn", "oid", "sort_code", "barcode", "oid_barcode", "pin", "destination", "origin",
                 "pt", "prd", "weight")


class DuplicateOrder(CarrierRejected):
    """Delhivery already holds an order with this reference: look its AWB up, never re-book."""

    def __init__(self, reference: str) -> None:
        super().__init__(CARRIER, f"Duplicate Order Id {reference}")
        self.reference = reference


@dataclass(frozen=True)
class Pincode:
    """One PIN code as the serviceability API describes it."""

    pin: str
    has_pickup: bool
    remarks: str = ""


# -- requests -------------------------------------------------------------------------------


def build_create(request: PickupRequest, *, client_name: str, warehouse: str) -> bytes:
    """The `format=json&data=<urlencoded JSON>` body that books one reverse pickup (RVP)."""
    payload = {"shipments": [_rvp_shipment(request, client_name)], "pickup_location": {"name": warehouse}}
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    # URL-encoding keeps & # % ; \ from breaking Delhivery's parser ("Unterminated string").
    return f"format=json&data={quote(data, safe='')}".encode()


def _rvp_shipment(request: PickupRequest, client_name: str) -> dict[str, Any]:
    # For payment_mode "Pickup" the consignee is the customer we collect from; return_* is the merchant.
    pickup, drop, parcel = request.pickup_address, request.drop_address, request.parcel
    shipment: dict[str, Any] = {
        "name": request.pickup_contact.name, "add": _street(pickup), "pin": pickup.postcode,
        "city": pickup.city, "state": pickup.state, "country": "India",
        "phone": request.pickup_contact.national_phone,
        "order": request.reference, "payment_mode": "Pickup", "client": client_name,
        "products_desc": ", ".join(i.name for i in request.items),
        "total_amount": str(request.total_value),
        "quantity": str(sum(i.quantity for i in request.items)),
        "weight": str(parcel.weight_g),
        "shipment_length": f"{parcel.length_cm:g}", "shipment_width": f"{parcel.width_cm:g}",
        "shipment_height": f"{parcel.height_cm:g}",
        "return_name": request.drop_contact.name, "return_add": _street(drop), "return_pin": drop.postcode,
        "return_city": drop.city, "return_state": drop.state, "return_country": "India",
        "return_phone": request.drop_contact.national_phone,
        "extra_parameters": {"return_reason": request.reason},
    }
    if request.needs_qc:
        shipment["qc"] = {"item": [_qc_item(i, i.qc, request.reason) for i in request.items if i.qc]}
    return shipment


def _street(address: Address) -> str:
    return ", ".join(p for p in (address.line1, address.line2) if p)


def _qc_item(item: Item, qc: QcAttributes, reason: str) -> dict[str, Any]:
    fields = {"descr": qc.description or item.name, "brand": qc.brand, "color": qc.color, "si": qc.size,
              "ean": qc.ean, "imei": qc.imei, "pcat": item.category, "reason": reason}
    qc_item: dict[str, Any] = {k: v for k, v in fields.items() if v}
    qc_item["images"] = list(qc.image_urls)
    qc_item["item_quantity"] = item.quantity
    return qc_item


def build_edit(awb: str, contact: Contact | None = None, address: Address | None = None) -> dict[str, str]:
    """The /api/p/edit body fixing name, phone or street (RVP: only while Scheduled)."""
    body = {"waybill": awb}
    if contact is not None:
        body |= {"name": contact.name, "phone": contact.national_phone}
    if address is not None:
        body["add"] = ", ".join(p for p in (_street(address), address.city) if p)
    return body


def build_cancel(awb: str) -> dict[str, str]:
    # Delhivery wants the string "true", not a JSON boolean.
    return {"waybill": awb, "cancellation": "true"}


def build_pickup_reschedule(awbs: Sequence[str]) -> dict[str, list[dict[str, str]]]:
    """The asynchronous NDR action asking for another pickup attempt (no date can be chosen)."""
    return {"data": [{"waybill": awb, "act": "PICKUP_RESCHEDULE"} for awb in awbs]}


# -- responses ------------------------------------------------------------------------------


def check_http(status: int, raw: bytes, retry_after: str | None = None) -> None:
    """Raise for an HTTP status that says something before the body does.

    Raises: CarrierAuthError (401, or 403 about credentials), CarrierUnavailable (403 WAF
    throttling, 429, 5xx), CarrierRejected (other 4xx).
    """
    text = raw[:300].decode("utf-8", "replace")
    if status == 401 or (status == 403 and _has(text, _AUTH_MARKERS)):
        raise CarrierAuthError(CARRIER, f"HTTP {status}: {text}")
    if status == 403:
        # Delhivery's WAF answers 403 when an IP exceeds its rate limit; it asks for >= 30 s.
        raise CarrierUnavailable(CARRIER, "HTTP 403: throttled by WAF", retry_after_s=30.0)
    if status == 429:
        raise CarrierUnavailable(CARRIER, "HTTP 429", retry_after_s=_seconds(retry_after))
    if status >= 500:
        raise CarrierUnavailable(CARRIER, f"HTTP {status}")
    if status >= 400:
        raise CarrierRejected(CARRIER, f"HTTP {status}: {text}")


def parse_create(raw: bytes) -> Booking:
    """The booking in a create response.

    Raises: DuplicateOrder, NotServiceable, CarrierRejected, CarrierAuthError, CarrierResponseInvalid.
    """
    body = _load_object(raw, "create response")
    packages = body.get("packages") or []
    if not isinstance(packages, list):
        raise CarrierResponseInvalid(CARRIER, "create response: packages is not a list")
    if packages:
        package = _object(packages[0], "create response package")
        waybill = package.get("waybill")
        if package.get("status") == "Success" and waybill:
            return Booking(carrier=CARRIER, awb=str(waybill),
                           carrier_reference=str(package.get("refnum", "")),
                           label_fields=_strings(package, ("sort_code",)))
        remarks = package.get("remarks") or []
        remark = "; ".join(str(r) for r in remarks if r) if isinstance(remarks, list) else str(remarks)
        raise _remark_error(remark or "package failed without remarks", str(package.get("refnum", "")))
    if body.get("rmk"):
        raise _remark_error(str(body["rmk"]), "")
    raise CarrierResponseInvalid(CARRIER, "create response has neither packages nor rmk")


def _remark_error(remark: str, reference: str) -> CarrierError:
    lowered = remark.lower()
    if "duplicate order id" in lowered:
        return DuplicateOrder(reference)
    if _has(lowered, _AUTH_MARKERS):
        return CarrierAuthError(CARRIER, remark)
    if _has(lowered, _NOT_SERVICEABLE_MARKERS):
        return NotServiceable(CARRIER, remark)
    return CarrierRejected(CARRIER, remark)


def parse_tracking(raw: bytes) -> list[CarrierEvent]:
    """Every scan of every shipment in a tracking response; an unknown AWB yields no events."""
    events: list[CarrierEvent] = []
    for shipment in _shipments(raw):
        awb = _text(shipment, "AWB")
        scans = shipment.get("Scans") or []
        if not isinstance(scans, list):
            raise CarrierResponseInvalid(CARRIER, f"tracking {awb}: Scans is not a list")
        found = [_scan_event(awb, _object(_object(s, "scan").get("ScanDetail"), "ScanDetail")) for s in scans]
        status = shipment.get("Status")
        if isinstance(status, dict):
            latest = _status_event(awb, status, detail_code=str(status.get("StatusCode") or ""))
            if not any(_same_scan(latest, e) for e in found):
                found.append(latest)
        events += found
    return events


def parse_reference_lookup(raw: bytes, reference: str) -> str | None:
    """The AWB Delhivery holds for an order reference, None when it holds none."""
    for shipment in _shipments(raw):
        if str(shipment.get("ReferenceNo", "")) == reference and shipment.get("AWB"):
            return str(shipment["AWB"])
    return None


def parse_webhook(raw: bytes) -> list[CarrierEvent]:
    """The one scan in a Scan Push webhook body."""
    shipment = _object(_load_object(raw, "webhook").get("Shipment"), "webhook Shipment")
    status = _object(shipment.get("Status"), "webhook Status")
    return [_status_event(_text(shipment, "AWB"), status, detail_code=str(shipment.get("NSLCode", "")))]


def parse_cancel(raw: bytes) -> None:
    """Accept a cancellation, or one already done. Raises: CarrierRejected, CarrierResponseInvalid."""
    _check_edit(raw, "cancel response", tolerate="already")


def parse_edit(raw: bytes) -> None:
    """Accept an edit. Raises: CarrierRejected, CarrierResponseInvalid."""
    _check_edit(raw, "edit response", tolerate=None)


def _check_edit(raw: bytes, what: str, tolerate: str | None) -> None:
    body = _load_object(raw, what)
    if body.get("status") is True or str(body.get("status")).lower() in ("true", "success"):
        return
    error = body.get("error")
    remark = " ".join(str(v) for v in (body.get("remark"), error if isinstance(error, str) else None) if v)
    if tolerate and tolerate in remark.lower():
        return
    if "status" not in body and error is None:
        raise CarrierResponseInvalid(CARRIER, f"{what} has neither status nor error")
    raise _remark_error(remark or f"{what}: refused without a remark", "")


def parse_ndr_action(raw: bytes) -> str:
    """The request id of an accepted asynchronous NDR action. Raises: CarrierRejected."""
    body = _load_object(raw, "NDR action response")
    request_id = body.get("request_id") or body.get("upl")
    if request_id:
        return str(request_id)
    raise _remark_error(str(body.get("error") or body.get("rmk") or "NDR action refused"), "")


def parse_packing_slip(raw: bytes) -> dict[str, str] | None:
    """The label fields we print from a pdf=false packing slip, None when none was found."""
    body = _load_object(raw, "packing slip")
    packages = body.get("packages") or []
    if not body.get("packages_found") or not isinstance(packages, list) or not packages:
        return None
    return _strings(_object(packages[0], "packing slip package"), _LABEL_FIELDS)


def parse_pincode(raw: bytes) -> Pincode | None:
    """The PIN code's serviceability, None when Delhivery does not serve it at all."""
    body = _load_object(raw, "pincode response")
    codes = body.get("delivery_codes")
    if not isinstance(codes, list):
        remark = body.get("rmk") or body.get("detail") or "pincode response without delivery_codes"
        raise _remark_error(str(remark), "")
    if not codes:
        return None
    postal = _object(_object(codes[0], "delivery_codes[0]").get("postal_code"), "postal_code")
    return Pincode(pin=str(postal.get("pin", "")), has_pickup=postal.get("pickup") == "Y",
                   remarks=str(postal.get("remarks") or ""))


def parse_ist(value: object) -> datetime:
    """A Delhivery timestamp (IST, no offset, with or without millis) as an aware datetime."""
    if not isinstance(value, str) or not value:
        raise CarrierResponseInvalid(CARRIER, f"timestamp missing or not text: {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CarrierResponseInvalid(CARRIER, f"bad timestamp {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=IST)


# -- helpers --------------------------------------------------------------------------------


def _shipments(raw: bytes) -> list[dict[str, Any]]:
    body = _load(raw, "tracking response")
    if isinstance(body, str) and _has(body.lower(), _NO_DATA_MARKERS):
        return []
    body = _object(body, "tracking response")
    data = body.get("ShipmentData")
    if data is None and _has(json.dumps(body).lower(), _NO_DATA_MARKERS):
        return []
    if not isinstance(data, list):
        raise CarrierResponseInvalid(CARRIER, "tracking response without ShipmentData")
    return [_object(_object(entry, "ShipmentData entry").get("Shipment"), "Shipment") for entry in data]


def _scan_event(awb: str, scan: dict[str, Any]) -> CarrierEvent:
    return CarrierEvent(
        carrier=CARRIER, awb=awb, code=_text(scan, "Scan"), code_type=str(scan.get("ScanType") or ""),
        detail_code=str(scan.get("StatusCode") or ""), description=str(scan.get("Instructions") or ""),
        location=str(scan.get("ScannedLocation") or ""),
        occurred_at=parse_ist(scan.get("StatusDateTime") or scan.get("ScanDateTime")),
    )


def _status_event(awb: str, status: dict[str, Any], *, detail_code: str) -> CarrierEvent:
    return CarrierEvent(
        carrier=CARRIER, awb=awb, code=_text(status, "Status"), code_type=str(status.get("StatusType") or ""),
        detail_code=detail_code, description=str(status.get("Instructions") or ""),
        location=str(status.get("StatusLocation") or ""), occurred_at=parse_ist(status.get("StatusDateTime")),
        remarks=str(status.get("RecievedBy") or ""),
    )


def _same_scan(a: CarrierEvent, b: CarrierEvent) -> bool:
    return (a.code, a.code_type, a.occurred_at) == (b.code, b.code_type, b.occurred_at)


def _strings(obj: dict[str, Any], keys: Sequence[str]) -> dict[str, str]:
    return {k: str(obj[k]) for k in keys if obj.get(k) not in (None, "")}
