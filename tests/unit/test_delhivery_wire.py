"""Delhivery's wire: every fixture parses, bodies are built as documented, errors land in the right class."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from carriers.base import Address, CarrierEvent, Contact, Item, Parcel, PickupRequest, QcAttributes
from carriers.delhivery import wire
from carriers.errors import (
    CarrierAuthError,
    CarrierRejected,
    CarrierResponseInvalid,
    CarrierUnavailable,
    NotServiceable,
)
from normalizers.maps import MAPS_DIR, load_map
from normalizers.taxonomy import Reason, Status

FIXTURES = Path(wire.__file__).parent / "fixtures"
IST = timezone(timedelta(hours=5, minutes=30))


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def make_request(reference: str = "RET-1001", *, pin: str = "560001", qc: QcAttributes | None = None,
                 reason: str = "size issue") -> PickupRequest:
    return PickupRequest(
        reference=reference,
        pickup_address=Address(line1="12 MG Road", line2="Flat 4 & 5 #2", city="Bengaluru", state="Karnataka",
                               postcode=pin),
        pickup_contact=Contact(name="Asha R", phone="+91 98000 00000"),
        drop_address=Address(line1="Plot 5", city="Bhiwandi", state="Maharashtra", postcode="421302"),
        drop_contact=Contact(name="Acme WH", phone="9800000001"),
        parcel=Parcel(weight_g=800, length_cm=30, width_cm=20, height_cm=12.5),
        items=(Item(sku="SH-1", name="Shoes", quantity=1, price=Decimal("1499.00"), category="footwear",
                    qc=qc),),
        reason=reason, pickup_date=date(2026, 11, 3),
    )


def decode_create(body: bytes) -> dict[str, Any]:
    fields = parse_qs(body.decode())
    assert fields["format"] == ["json"]
    payload: dict[str, Any] = json.loads(fields["data"][0])
    return payload


# -- building -------------------------------------------------------------------------------


def test_create_body_is_a_documented_rvp() -> None:
    payload = decode_create(wire.build_create(make_request(), client_name="ACME-B2C", warehouse="ACME-BHW"))
    assert payload["pickup_location"] == {"name": "ACME-BHW"}
    (shipment,) = payload["shipments"]
    assert shipment["payment_mode"] == "Pickup"
    assert (shipment["name"], shipment["pin"], shipment["phone"]) == ("Asha R", "560001", "9800000000")
    assert shipment["add"] == "12 MG Road, Flat 4 & 5 #2"
    assert (shipment["return_name"], shipment["return_pin"], shipment["return_phone"]) == (
        "Acme WH", "421302", "9800000001")
    assert (shipment["order"], shipment["client"]) == ("RET-1001", "ACME-B2C")
    assert (shipment["weight"], shipment["shipment_height"]) == ("800", "12.5")
    assert (shipment["products_desc"], shipment["total_amount"]) == ("Shoes", "1499.00")
    assert shipment["quantity"] == "1"
    assert shipment["extra_parameters"] == {"return_reason": "size issue"}
    assert "qc" not in shipment


def test_create_body_escapes_characters_that_break_delhivery() -> None:
    body = wire.build_create(make_request(), client_name="C", warehouse="W").decode()
    data = body.removeprefix("format=json&data=")
    assert not set("&#;\\\" ") & set(data)


def test_create_body_carries_qc_v1_block() -> None:
    qc = QcAttributes(brand="Acme", color="Red", size="9", ean="8901234567890",
                      image_urls=("https://x.test/1.jpg",))
    body = wire.build_create(make_request(qc=qc), client_name="C", warehouse="W")
    (shipment,) = decode_create(body)["shipments"]
    (item,) = shipment["qc"]["item"]
    assert item == {"descr": "Shoes", "brand": "Acme", "color": "Red", "si": "9", "ean": "8901234567890",
                    "pcat": "footwear", "reason": "size issue", "images": ["https://x.test/1.jpg"],
                    "item_quantity": 1}


def test_edit_cancel_and_reschedule_bodies() -> None:
    contact = Contact(name="Asha Rao", phone="9800000002")
    address = Address(line1="14 MG Road", city="Bengaluru", postcode="560001")
    assert wire.build_edit("149", contact, address) == {
        "waybill": "149", "name": "Asha Rao", "phone": "9800000002", "add": "14 MG Road, Bengaluru"}
    assert wire.build_edit("149") == {"waybill": "149"}
    assert wire.build_cancel("149") == {"waybill": "149", "cancellation": "true"}
    assert wire.build_pickup_reschedule(["149"]) == {"data": [{"waybill": "149", "act": "PICKUP_RESCHEDULE"}]}


# -- parsing --------------------------------------------------------------------------------


def test_create_success() -> None:
    booking = wire.parse_create(fixture("create_success.json"))
    assert (booking.carrier, booking.awb) == ("delhivery", "14900000000017")
    assert booking.carrier_reference == "RET-1001"
    assert booking.label_fields == {"sort_code": "BLR/KRM"}


@pytest.mark.parametrize(("name", "error"), [
    ("create_fail_non_serviceable.json", NotServiceable),
    ("create_fail_bad_phone.json", CarrierRejected),
    ("create_fail_warehouse.json", CarrierAuthError),
])
def test_create_failures_raise_by_class(name: str, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        wire.parse_create(fixture(name))
    assert not isinstance(caught.value, wire.DuplicateOrder)


def test_create_duplicate_is_its_own_marker() -> None:
    with pytest.raises(wire.DuplicateOrder) as caught:
        wire.parse_create(fixture("create_duplicate_order.json"))
    assert caught.value.reference == "RET-1001"


@pytest.mark.parametrize(("rmk", "error"), [
    ("client is not active", CarrierAuthError),
    ("'NoneType' object has no attribute 'end_date'", CarrierAuthError),
    ("Crashing while saving package due to exception 'Package type Pickup not serviceable for this account'",
     NotServiceable),
    ("oid does not pass the validator", CarrierRejected),
])
def test_create_top_level_rmk(rmk: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        wire.parse_create(json.dumps({"success": False, "rmk": rmk, "error": True}).encode())


@pytest.mark.parametrize("raw", [b"", b'{"success": tru', b"[]", b'{"success": true}', b"<html>502</html>"])
def test_unparseable_create_is_invalid(raw: bytes) -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_create(raw)


def test_tracking_lifecycle_in_order_with_ist_offset_kept() -> None:
    events = wire.parse_tracking(fixture("track_rvp_lifecycle.json"))
    assert [(e.code_type, e.code, e.detail_code) for e in events] == [
        ("PP", "Open", "X-UCI"), ("PP", "Scheduled", "FMPUR-101"), ("PP", "Dispatched", "FMOFP-101"),
        ("PP", "Scheduled", "EOD-11"), ("PP", "Dispatched", "FMOFP-101"), ("PU", "In Transit", "EOD-77"),
        ("PU", "In Transit", "X-IBD3F"), ("PU", "Pending", "X-IBD3F"), ("PU", "Dispatched", "X-DDD3FD"),
        ("DL", "DTO", "EOD-38"),
    ]
    first, failed = events[0], events[3]
    assert first.occurred_at == datetime(2026, 11, 2, 10, 0, 4, 512000, tzinfo=IST)
    assert first.occurred_at.utcoffset() == timedelta(hours=5, minutes=30)
    assert events[1].occurred_at == datetime(2026, 11, 2, 11, 0, 5, tzinfo=IST)  # no millis
    assert failed.description == "Consignee Unavailable"
    assert failed.location == "Bengaluru_Koramangala (Karnataka)"
    assert {e.awb for e in events} == {"14900000000017"}


def test_tracking_adds_top_level_status_missing_from_scans() -> None:
    events = wire.parse_tracking(fixture("track_status_only.json"))
    assert [(e.code, e.detail_code) for e in events] == [("Open", "X-UCI"), ("Scheduled", "FMPUR-101")]
    # The Open scan has no StatusDateTime: its ScanDateTime is used.
    assert events[0].occurred_at == datetime(2026, 11, 2, 10, 0, 4, 512000, tzinfo=IST)


@pytest.mark.parametrize("raw", [fixture("track_no_data.json"), b'"No such waybill or order ID found"'])
def test_tracking_unknown_awb_is_no_events(raw: bytes) -> None:
    assert wire.parse_tracking(raw) == []


@pytest.mark.parametrize("raw", [b"{", b'{"ShipmentData": {}}', b'{"foo": 1}',
                                 b'{"ShipmentData": [{"Shipment": {"AWB": "1", "Scans": [{"ScanDetail": '
                                 b'{"Scan": "Open", "StatusDateTime": "yesterday"}}]}}]}'])
def test_tracking_garbage_is_invalid(raw: bytes) -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_tracking(raw)


def test_reference_lookup() -> None:
    raw = fixture("track_rvp_lifecycle.json")
    assert wire.parse_reference_lookup(raw, "RET-1001") == "14900000000017"
    assert wire.parse_reference_lookup(raw, "RET-9") is None
    assert wire.parse_reference_lookup(fixture("track_no_data.json"), "RET-1001") is None


def test_scan_push_webhook() -> None:
    (event,) = wire.parse_webhook(fixture("scan_push_webhook.json"))
    assert event.awb == "14900000000017"
    assert (event.code_type, event.code, event.detail_code) == ("PP", "Scheduled", "EOD-11")
    assert event.occurred_at == datetime(2026, 11, 3, 15, 2, 31, 101000, tzinfo=IST)


def test_cancel_responses() -> None:
    wire.parse_cancel(fixture("cancel_success.json"))
    wire.parse_cancel(b'{"status": false, "error": "Package is already Canceled", "remark": ""}')
    with pytest.raises(CarrierRejected):
        wire.parse_cancel(fixture("cancel_incorrect_status.json"))
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_cancel(b"{}")


def test_packing_slip() -> None:
    fields = wire.parse_packing_slip(fixture("packing_slip.json"))
    assert fields is not None
    assert (fields["wbn"], fields["oid"], fields["sort_code"], fields["pin"]) == (
        "14900000000017", "RET-1001", "BLR/KRM", "560001")
    assert fields["barcode"].startswith("data:image/png;base64,")
    assert "delhivery_logo" not in fields
    assert wire.parse_packing_slip(fixture("packing_slip_not_found.json")) is None


def test_pincode() -> None:
    assert wire.parse_pincode(fixture("pincode_serviceable.json")) == wire.Pincode("560001", has_pickup=True)
    assert wire.parse_pincode(fixture("pincode_not_serviceable.json")) is None
    with pytest.raises(CarrierAuthError):
        wire.parse_pincode(b'{"detail": "Login or API Key Required"}')


def test_ndr_action() -> None:
    request_id = wire.parse_ndr_action(fixture("ndr_action_accepted.json"))
    assert request_id == "3f2a9c1e-0b7d-4c55-9a61-2f4d8e0c7b19"
    with pytest.raises(CarrierRejected):
        wire.parse_ndr_action(b'{"error": "Can not update more than 1000 records"}')


@pytest.mark.parametrize(("status", "retry_after", "error"), [
    (401, None, CarrierAuthError), (403, None, CarrierUnavailable), (429, "7", CarrierUnavailable),
    (503, None, CarrierUnavailable), (400, None, CarrierRejected),
])
def test_http_status_classes(status: int, retry_after: str | None, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        wire.check_http(status, b"nope", retry_after)
    if retry_after:
        assert getattr(caught.value, "retry_after_s", None) == 7.0
    wire.check_http(200, b"{}")


def test_403_about_credentials_is_auth() -> None:
    with pytest.raises(CarrierAuthError):
        wire.check_http(403, b'{"detail": "Authentication credentials were not provided."}')


# -- fixtures and map -----------------------------------------------------------------------


def test_every_fixture_has_a_source() -> None:
    sources = (FIXTURES / "SOURCES.md").read_text()
    missing = [p.name for p in FIXTURES.iterdir() if p.name != "SOURCES.md" and f"`{p.name}`" not in sources]
    assert missing == []


def _fixture_events() -> list[CarrierEvent]:
    return (wire.parse_tracking(fixture("track_rvp_lifecycle.json"))
            + wire.parse_webhook(fixture("scan_push_webhook.json")))


def test_status_map_gives_every_fixture_event_a_meaning() -> None:
    status_map = load_map(MAPS_DIR / "delhivery.yaml")
    statuses = []
    for event in _fixture_events():
        entry = status_map.lookup(event)
        assert entry is not None, event.raw_code
        statuses.append(entry.status)
    assert statuses[:6] == [Status.CREATED, Status.PICKUP_SCHEDULED, Status.OUT_FOR_PICKUP,
                            Status.PICKUP_FAILED, Status.OUT_FOR_PICKUP, Status.PICKED_UP]
    assert statuses[9:] == [Status.DELIVERED, Status.PICKUP_FAILED]


@pytest.mark.parametrize(("code_type", "code", "detail", "status", "reason"), [
    ("PP", "Scheduled", "EOD-11", Status.PICKUP_FAILED, Reason.CUSTOMER_UNAVAILABLE),
    ("UD", "Pending", "EOD-11", Status.DELIVERY_FAILED, Reason.CUSTOMER_UNAVAILABLE),
    ("UD", "Pending", "", Status.IN_TRANSIT, None),
    ("CN", "Canceled", "EOD-777", Status.PICKUP_FAILED, Reason.QC_FAILED),
    ("CN", "Canceled", "CL-102", Status.CANCELLED, Reason.CANCELLED_BY_MERCHANT),
    ("", "Lost", "", Status.EXCEPTION, Reason.LOST),
    ("PU", "In Transit", "S-MAR", Status.IN_TRANSIT, Reason.CARRIER_DELAY),
])
def test_status_map_scopes_failure_codes_by_leg(code_type: str, code: str, detail: str, status: Status,
                                                reason: Reason | None) -> None:
    event = CarrierEvent(carrier="delhivery", awb="1", code=code, code_type=code_type, detail_code=detail,
                         occurred_at=datetime(2026, 11, 2, tzinfo=IST))
    entry = load_map(MAPS_DIR / "delhivery.yaml").lookup(event)
    assert entry is not None
    assert (entry.status, entry.reason) == (status, reason)
