"""Blue Dart's scans: the custawbquery tracking XML and the Push API JSON, parsed into `CarrierEvent`s.

Pure. Each scan becomes one event keyed (ScanGroupType, ScanCode, ScanType): the group makes
the code unambiguous (codes overlap across groups), the scan type tells the leg ("PU" while
the pickup is under way, see README.md). Times are IST wall-clock; the offset is kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from lxml import etree

from carriers.base import CarrierEvent
from carriers.errors import CarrierResponseInvalid

CARRIER = "bluedart"
IST = timezone(timedelta(hours=5, minutes=30), "IST")
NOT_FOUND = "NF"

_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
# Tracking writes "07-Jun-2012" / "13:05"; the Push API "23-05-2019" / "1448"; PickUpDate "01 June 2012".
_DATE_FORMATS = ("%d-%b-%Y", "%d-%m-%Y", "%d %B %Y")
_TIME_FORMATS = ("%H:%M", "%H%M")
_ZONES = {"": IST, "IST": IST}


def parse_tracking(raw: bytes) -> list[CarrierEvent]:
    """Every scan of every shipment in a custawbquery XML answer; NF shipments yield none."""
    events: list[CarrierEvent] = []
    for shipment in _shipments(raw):
        awb = shipment.get("WaybillNo") or ""
        if _child_text(shipment, "StatusType") == NOT_FOUND:
            continue
        if not awb:
            raise CarrierResponseInvalid(CARRIER, "tracking Shipment without WaybillNo")
        for scan in shipment.iterfind("Scans/ScanDetail"):
            events.append(_event(awb, {child.tag: (child.text or "").strip() for child in scan
                                       if isinstance(child.tag, str)}))
    return events


def parse_reference_lookup(raw: bytes, reference: str) -> str | None:
    """The AWB Blue Dart holds for our reference (an `awb=ref` query), None when it holds none."""
    for shipment in _shipments(raw):
        if _child_text(shipment, "StatusType") == NOT_FOUND:
            continue
        if shipment.get("RefNo") == reference and shipment.get("WaybillNo"):
            return str(shipment.get("WaybillNo"))
    return None


def parse_webhook(raw: bytes) -> list[CarrierEvent]:
    """The scans in a Push API body, Lite (one flat scan per Shipment) or Plus (Scans.ScanDetail[])."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CarrierResponseInvalid(CARRIER, f"push body is not JSON: {raw[:80]!r}") from exc
    entries = body.get("statustracking") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        raise CarrierResponseInvalid(CARRIER, "push body without a statustracking list")
    events: list[CarrierEvent] = []
    for entry in entries:
        shipment = entry.get("Shipment") if isinstance(entry, dict) else None
        if not isinstance(shipment, dict) or not shipment.get("WaybillNo"):
            raise CarrierResponseInvalid(CARRIER, "push entry without Shipment.WaybillNo")
        events += [_event(str(shipment["WaybillNo"]), scan) for scan in _push_scans(shipment)]
    return events


def _push_scans(shipment: dict[str, Any]) -> Iterator[dict[str, Any]]:
    scans = shipment.get("Scans")
    if scans is None:
        yield shipment
        return
    details = scans.get("ScanDetail") if isinstance(scans, dict) else None
    # A JSON rendering of XML gives a lone ScanDetail as an object, several as a list.
    for detail in details if isinstance(details, list) else [details]:
        if not isinstance(detail, dict):
            raise CarrierResponseInvalid(CARRIER, "push Scans.ScanDetail is not an object or a list")
        yield detail


def parse_scan_time(day: str, clock_time: str, zone: str = "") -> datetime:
    """A Blue Dart date and time (IST wall-clock) as an aware datetime. Raises: CarrierResponseInvalid."""
    tz = _ZONES.get(zone.strip().upper())
    if tz is None:
        raise CarrierResponseInvalid(CARRIER, f"unknown StatusTimeZone {zone!r}")
    for date_format in _DATE_FORMATS:
        for time_format in _TIME_FORMATS:
            text, pattern = f"{day.strip()} {clock_time.strip()}", f"{date_format} {time_format}"
            try:
                return datetime.strptime(text, pattern).replace(tzinfo=tz)
            except ValueError:
                continue
    raise CarrierResponseInvalid(CARRIER, f"bad scan date/time {day!r} {clock_time!r}")


def _event(awb: str, scan: dict[str, Any]) -> CarrierEvent:
    code = str(scan.get("ScanCode") or "")
    if not code:
        raise CarrierResponseInvalid(CARRIER, f"scan of {awb} without ScanCode")
    return CarrierEvent(
        carrier=CARRIER, awb=awb, code=code, code_type=str(scan.get("ScanGroupType") or ""),
        detail_code=str(scan.get("ScanType") or ""), description=str(scan.get("Scan") or ""),
        occurred_at=parse_scan_time(str(scan.get("ScanDate") or ""), str(scan.get("ScanTime") or ""),
                                    str(scan.get("StatusTimeZone") or "")),
        # The code first: Push Lite carries only the code, and a poll and a push of one scan must agree.
        location=str(scan.get("ScannedLocationCode") or scan.get("ScannedLocation") or ""),
        remarks=str(scan.get("Comments") or ""),
    )


def _shipments(raw: bytes) -> list[Any]:
    try:
        root = etree.fromstring(raw, _XML)
    except etree.XMLSyntaxError as exc:
        raise CarrierResponseInvalid(CARRIER, f"tracking answer is not XML: {raw[:80]!r}") from exc
    if root.tag != "ShipmentData":
        raise CarrierResponseInvalid(CARRIER, f"tracking answer root is {root.tag!r}, not ShipmentData")
    return list(root.iterfind("Shipment"))


def _child_text(element: Any, tag: str) -> str:
    child = element.find(tag)
    return (child.text or "").strip() if child is not None else ""
