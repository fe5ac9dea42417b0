"""Ecom Express's scans: the mawbd tracking XML and the status push, parsed into `CarrierEvent`s.

Pure. A scan's key is its `reason_code_number` (`code`); the shipment-level RTO completion
(`rts_reason_code_number`) becomes one more event with `code_type` "RTS". Times are IST
wall-clock; the offset is kept.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from lxml import etree

from carriers.base import CarrierEvent
from carriers.errors import CarrierResponseInvalid

CARRIER = "ecom_express"
IST = timezone(timedelta(hours=5, minutes=30), "IST")
RTS = "RTS"

_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
# Scans and rts_last_update write "11 Dec, 2017, 17:27"; last_update_datetime "11-Dec-2017 17:27";
# pushes "2021-05-11 10:00:00".
_TIME_FORMATS = ("%d %b, %Y, %H:%M", "%d-%b-%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")


def parse_tracking(raw: bytes) -> list[CarrierEvent]:
    """Every scan of every AWB in a mawbd answer, plus the RTO completion; unknown AWBs yield none."""
    events: list[CarrierEvent] = []
    for shipment in _awb_objects(raw):
        fields = _fields(shipment)
        awb = fields.get("awb_number", "")
        if not awb:
            raise CarrierResponseInvalid(CARRIER, "tracking object without awb_number")
        scans = shipment.find("field[@name='scans']")
        for scan in scans.iterfind("object") if scans is not None else []:
            events.append(_scan_event(awb, _fields(scan)))
        if fields.get("rts_reason_code_number") and fields.get("rts_last_update"):
            events.append(CarrierEvent(
                carrier=CARRIER, awb=awb, code=fields["rts_reason_code_number"], code_type=RTS,
                description=fields.get("rts_system_delivery_status", ""),
                occurred_at=parse_time(fields["rts_last_update"])))
    return events


def parse_reference_lookup(raw: bytes, reference: str) -> str | None:
    """The AWB Ecom Express holds for our order number (an `order=` query), None when it holds none."""
    for shipment in _awb_objects(raw):
        fields = _fields(shipment)
        if fields.get("orderid") == reference and fields.get("awb_number"):
            return fields["awb_number"]
    return None


def parse_webhook(raw: bytes) -> list[CarrierEvent]:
    """The one status in an Ecom Express push body."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CarrierResponseInvalid(CARRIER, f"push body is not JSON: {raw[:80]!r}") from exc
    if not isinstance(body, dict) or not body.get("awb"):
        raise CarrierResponseInvalid(CARRIER, "push body without awb")
    scan = {k: str(v) for k, v in body.items() if v is not None}
    return [_scan_event(scan["awb"], scan | {"updated_on": scan.get("datetime", "")})]


def parse_time(value: str) -> datetime:
    """An Ecom Express timestamp (IST wall-clock) as an aware datetime. Raises: CarrierResponseInvalid."""
    text = " ".join(value.split())
    for pattern in _TIME_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=IST)
        except ValueError:
            continue
    raise CarrierResponseInvalid(CARRIER, f"bad timestamp {value!r}")


def _scan_event(awb: str, scan: dict[str, str]) -> CarrierEvent:
    code = scan.get("reason_code_number", "")
    if not code:
        raise CarrierResponseInvalid(CARRIER, f"scan of {awb} without reason_code_number")
    return CarrierEvent(
        carrier=CARRIER, awb=awb, code=code, description=_reason_text(scan.get("reason_code", ""), code),
        occurred_at=parse_time(scan.get("updated_on", "")),
        location=scan.get("location_city") or scan.get("city") or scan.get("location", ""),
        remarks=scan.get("Employee", ""),
    )


def _reason_text(reason_code: str, code: str) -> str:
    """"999 - Delivered" → "Delivered"."""
    number, dash, text = reason_code.partition(" - ")
    return text.strip() if dash and number.strip() == code else reason_code.strip()


def _awb_objects(raw: bytes) -> list[Any]:
    try:
        root = etree.fromstring(raw, _XML)
    except etree.XMLSyntaxError as exc:
        raise CarrierResponseInvalid(CARRIER, f"tracking answer is not XML: {raw[:80]!r}") from exc
    if root.tag != "ecomexpress-objects":
        raise CarrierResponseInvalid(CARRIER, f"tracking answer root is {root.tag!r}, not ecomexpress-objects")
    return list(root.iterfind("object"))


def _fields(element: Any) -> dict[str, str]:
    """The plain `<field name=…>` values of one object (the nested scans field is skipped)."""
    return {f.get("name"): (f.text or "").strip() for f in element.iterfind("field")
            if f.get("name") and f.find("object") is None}
