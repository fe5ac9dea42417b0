"""What Blue Dart's sandbox answers a custawbquery with: the tracking XML, built from its bookings.

Pure rendering; `sandbox.py` does the auth and the lookup.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from lxml import etree

from carriers.bluedart import sandbox_script as script
from carriers.bluedart import wire
from carriers.sandbox import SandboxBooking, Step

HUB = ("BHIWANDI HUB", "BWD")
Place = tuple[str, str]  # (ScannedLocation, ScannedLocationCode)
_NOT_FOUND = "Incorrect Waybill number or No Information"
# A waybill nobody has scanned yet is "in process" with no scans.
_GENERATED = Step(timedelta(0), {"Scan": "WAYBILL GENERATED", "ScanType": script.IN_PROCESS})


def area(pin: str) -> str:
    """A fake but stable three-letter area code for a PIN."""
    return "".join(chr(ord("A") + int(d)) for d in pin[:3])


def places(request_body: dict[str, Any]) -> tuple[Place, Place]:
    shipper, consignee = request_body.get("Shipper") or {}, request_body.get("Consignee") or {}
    pickup_pin, drop_pin = str(shipper.get("CustomerPincode", "")), str(consignee.get("ConsigneePincode", ""))
    return (f"SANDBOX {pickup_pin}", area(pickup_pin)), (f"SANDBOX {drop_pin}", area(drop_pin))


def tracking_xml(found: list[tuple[str, list[SandboxBooking]]], now: datetime) -> bytes:
    """The ShipmentData answer: each number's bookings, or an NF shipment when it has none."""
    root = etree.Element("ShipmentData")
    for number, bookings in found:
        if not bookings:
            _not_found(root, number)
        for booking in bookings:
            _shipment_xml(root, booking, now)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _not_found(root: Any, number: str) -> None:
    shipment = etree.SubElement(root, "Shipment", WaybillNo=number)
    etree.SubElement(shipment, "Status").text = _NOT_FOUND
    etree.SubElement(shipment, "StatusType").text = "NF"


def _shipment_xml(root: Any, booking: SandboxBooking, now: datetime) -> None:
    req = booking.request
    shipment = etree.SubElement(root, "Shipment", WaybillNo=booking.awb, RefNo=booking.reference)
    scans = booking.scans(now)
    last_at, last = scans[-1] if scans else (booking.booked_at, _GENERATED)
    origin, drop = places(req)
    for tag, text in (("Service", "DOMESTIC PRIORITY"), ("PickUpDate", booking.booked_at.astimezone(wire.IST)
                      .strftime("%d %B %Y")), ("Origin", origin[0]), ("OriginAreaCode", origin[1]),
                      ("Destination", drop[0]), ("DestinationAreaCode", drop[1]),
                      ("CustomerName", str((req.get("Consignee") or {}).get("ConsigneeName", ""))),
                      ("Status", last.scan["Scan"]), ("StatusType", last.scan["ScanType"]),
                      ("StatusDate", scan_date(last_at)), ("StatusTime", scan_time(last_at))):
        etree.SubElement(shipment, tag).text = text
    details = etree.SubElement(shipment, "Scans")
    for at, step in reversed(scans):  # Blue Dart lists the latest scan first
        detail = etree.SubElement(details, "ScanDetail")
        for tag in ("Scan", "ScanCode", "ScanType", "ScanGroupType"):
            etree.SubElement(detail, tag).text = step.scan[tag]
        etree.SubElement(detail, "ScanDate").text = scan_date(at)
        etree.SubElement(detail, "ScanTime").text = scan_time(at)
        etree.SubElement(detail, "ScannedLocation").text = step.scan["ScannedLocation"]
        etree.SubElement(detail, "ScannedLocationCode").text = step.scan["ScannedLocationCode"]


def scan_date(moment: datetime) -> str:
    return moment.astimezone(wire.IST).strftime("%d-%b-%Y")


def scan_time(moment: datetime) -> str:
    return moment.astimezone(wire.IST).strftime("%H:%M")
