"""Ecom Express's wire: every fixture parses, forms carry the documented fields, errors land in the right class."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from carriers.base import Address, CarrierEvent, Contact, Item, Parcel, PickupRequest
from carriers.ecom_express import sandbox_script, wire
from carriers.errors import (
    CarrierAuthError,
    CarrierRejected,
    CarrierResponseInvalid,
    CarrierUnavailable,
    NotServiceable,
)
from carriers.sandbox import Scenario
from normalizers.maps import MAPS_DIR, load_map
from normalizers.taxonomy import Reason, Status

FIXTURES = Path(wire.__file__).parent / "fixtures"
IST = timezone(timedelta(hours=5, minutes=30))


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def make_request(reference: str = "RET-1001") -> PickupRequest:
    return PickupRequest(
        reference=reference,
        pickup_address=Address(line1="12 MG Road", line2="Flat 4", city="Bengaluru", state="Karnataka",
                               postcode="560001"),
        pickup_contact=Contact(name="Asha R", phone="+91 98000 00000"),
        drop_address=Address(line1="Plot 5", line2="Logistics Park", city="Bhiwandi", state="Maharashtra",
                             postcode="421302"),
        drop_contact=Contact(name="Acme WH", phone="9800000001"),
        parcel=Parcel(weight_g=800, length_cm=30, width_cm=20, height_cm=10),
        items=(Item(sku="SH-1", name="Shoes", price=Decimal("1499.00"), category="footwear"),),
        reason="size issue",
    )


# -- building -------------------------------------------------------------------------------


def test_reverse_manifest_carries_the_documented_fields() -> None:
    form = wire.build_reverse_manifest(make_request(), "102345678", vendor_id="V1")
    assert set(form) == {"json_input"}
    shipment = json.loads(form["json_input"])["ECOMEXPRESS-OBJECTS"]["SHIPMENT"]
    assert (shipment["AWB_NUMBER"], shipment["ORDER_NUMBER"], shipment["PRODUCT"]) == ("102345678", "RET-1001", "rev")
    assert (shipment["REVPICKUP_NAME"], shipment["REVPICKUP_ADDRESS1"], shipment["REVPICKUP_ADDRESS2"],
            shipment["REVPICKUP_ADDRESS3"]) == ("Asha R", "12 MG Road", "Flat 4", "Bengaluru")
    assert (shipment["REVPICKUP_CITY"], shipment["REVPICKUP_PINCODE"], shipment["REVPICKUP_STATE"],
            shipment["REVPICKUP_MOBILE"]) == ("Bengaluru", "560001", "Karnataka", "9800000000")
    assert (shipment["DROP_NAME"], shipment["DROP_ADDRESS_LINE1"], shipment["DROP_ADDRESS_LINE2"],
            shipment["DROP_PINCODE"], shipment["DROP_MOBILE"]) == (
        "Acme WH", "Plot 5", "Logistics Park", "421302", "9800000001")
    assert (shipment["ACTUAL_WEIGHT"], shipment["VOLUMETRIC_WEIGHT"]) == (0.8, 1.2)
    assert (shipment["LENGTH"], shipment["BREADTH"], shipment["HEIGHT"], shipment["PIECES"]) == (30, 20, 10, 1)
    assert (shipment["DECLARED_VALUE"], shipment["COLLECTABLE_VALUE"]) == (1499.0, 0)
    assert (shipment["ITEM_DESCRIPTION"], shipment["EXTRA_INFORMATION"], shipment["DG_SHIPMENT"]) == (
        "Shoes", "size issue", "false")
    assert shipment["VENDOR_ID"] == "V1"


def test_other_forms_and_params() -> None:
    assert wire.credentials("u", "p") == {"username": "u", "password": "p"}
    assert wire.build_fetch_awb() == {"count": "1", "type": "REV"}
    assert wire.build_cancel(["1", "2"]) == {"awbs": "1,2"}
    assert wire.track_params(awbs=["1", "2"]) == {"awb": "1,2"}
    assert wire.track_params(orders=["RET-1"]) == {"order": "RET-1"}


# -- parsing --------------------------------------------------------------------------------


def test_pincodes() -> None:
    assert wire.parse_pincodes(fixture("pincodes_serviceable.json"), "560001") is True
    assert wire.parse_pincodes(fixture("pincodes_serviceable.json"), "560002") is False
    assert wire.parse_pincodes(fixture("pincodes_not_serviceable.json"), "790001") is False
    with pytest.raises(CarrierAuthError):
        wire.parse_pincodes(fixture("fetch_awb_bad_login.json"), "560001")


def test_fetch_awb() -> None:
    assert wire.parse_fetch_awb(fixture("fetch_awb_success.json")) == "102345678"
    with pytest.raises(CarrierAuthError):
        wire.parse_fetch_awb(fixture("fetch_awb_bad_login.json"))
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_fetch_awb(b'{"awb": []}')


def test_manifest_success() -> None:
    booking = wire.parse_manifest(fixture("manifest_success.json"))
    assert (booking.carrier, booking.awb, booking.carrier_reference) == ("ecom_express", "102345678", "RET-1001")


@pytest.mark.parametrize(("name", "error"), [
    ("manifest_duplicate_order.json", wire.DuplicateOrder),
    ("manifest_not_serviceable.json", NotServiceable),
    ("manifest_shipments_failure.json", CarrierRejected),
])
def test_manifest_failures_raise_by_class(name: str, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        wire.parse_manifest(fixture(name))
    if error is not wire.DuplicateOrder:
        assert not isinstance(caught.value, wire.DuplicateOrder)


@pytest.mark.parametrize("raw", [b"", b'{"RESPONSE-OBJECTS": {', b"[]", b"{}", b"<html>502</html>",
                                 b'{"RESPONSE-OBJECTS": {"AIRWAYBILL-OBJECTS": []}}'])
def test_unparseable_manifest_is_invalid(raw: bytes) -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_manifest(raw)


def test_cancel_responses() -> None:
    for name in ("cancel_success.json", "cancel_already_cancelled.json", "cancel_rto_lock.json"):
        wire.parse_cancel(fixture(name), "102345678")
    with pytest.raises(CarrierRejected):
        wire.parse_cancel(fixture("cancel_after_pickup.json"), "102345678")
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_cancel(fixture("cancel_success.json"), "999")


def test_label() -> None:
    assert wire.parse_label(b"%PDF-1.4 stub") == b"%PDF-1.4 stub"
    assert wire.parse_label(fixture("label_not_found.json")) is None
    with pytest.raises(CarrierAuthError):
        wire.parse_label(fixture("fetch_awb_bad_login.json"))
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_label(b"<html/>")


def test_tracking_lifecycle_in_order_with_ist_kept() -> None:
    events = sorted(wire.parse_tracking(fixture("track_rvp_lifecycle.xml")), key=lambda e: e.occurred_at)
    assert [e.code for e in events] == ["99001", "99011", "99001", "0011", "002", "003", "303", "005", "006", "999"]
    first = events[0]
    assert first.occurred_at == datetime(2026, 11, 3, 10, 0, tzinfo=IST)
    assert first.occurred_at.utcoffset() == timedelta(hours=5, minutes=30)
    assert (events[1].description, events[1].location, events[1].remarks) == (
        "Pickup not done - customer not available", "BANGALORE", "R KUMAR")
    assert {e.awb for e in events} == {"102345678"}


def test_tracking_rto_completion_is_its_own_event() -> None:
    events = wire.parse_tracking(fixture("track_rto_completed.xml"))
    assert [e.raw_code for e in events] == ["777", "0011", "RTS/999"]
    assert events[-1].occurred_at == datetime(2026, 11, 14, 16, 45, tzinfo=IST)


def test_tracking_no_data_is_no_events() -> None:
    assert wire.parse_tracking(fixture("track_no_data.xml")) == []


@pytest.mark.parametrize("raw", [
    b"", b"<ecomexpress-objects><object", b"<other/>", b"[]",
    b"<ecomexpress-objects><object><field name='orderid'>1</field></object></ecomexpress-objects>",
    b"<ecomexpress-objects><object><field name='awb_number'>1</field><field name='scans'><object>"
    b"<field name='reason_code_number'>002</field><field name='updated_on'>soon</field></object></field>"
    b"</object></ecomexpress-objects>",
])
def test_tracking_garbage_is_invalid(raw: bytes) -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_tracking(raw)


def test_reference_lookup() -> None:
    assert wire.parse_reference_lookup(fixture("track_rvp_lifecycle.xml"), "RET-1001") == "102345678"
    assert wire.parse_reference_lookup(fixture("track_rvp_lifecycle.xml"), "RET-9") is None
    assert wire.parse_reference_lookup(fixture("track_no_data.xml"), "RET-1001") is None


def test_push() -> None:
    (event,) = wire.parse_webhook(fixture("push_status.json"))
    assert (event.awb, event.code, event.description, event.location) == ("102345678", "999", "Delivered", "BHIWANDI")
    assert event.occurred_at == datetime(2026, 11, 6, 12, 0, tzinfo=IST)
    for raw in (b"{", b"[]", b"{}", b'{"awb": "1", "datetime": "2026-11-06 12:00:00"}'):
        with pytest.raises(CarrierResponseInvalid):
            wire.parse_webhook(raw)


def test_times_in_every_documented_format() -> None:
    expected = datetime(2017, 12, 11, 17, 27, tzinfo=IST)
    assert wire.parse_time("11 Dec, 2017, 17:27") == expected
    assert wire.parse_time("11-Dec-2017 17:27") == expected
    assert wire.parse_time("2017-12-11 17:27:00") == expected


@pytest.mark.parametrize(("status", "error"), [
    (401, CarrierAuthError), (403, CarrierAuthError), (429, CarrierUnavailable), (502, CarrierUnavailable),
    (400, CarrierRejected),
])
def test_http_status_classes(status: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        wire.check_http(status, b"nope", "3")
    wire.check_http(200, b"{}")


# -- fixtures and map -----------------------------------------------------------------------


def test_every_fixture_has_a_source() -> None:
    sources = (FIXTURES / "SOURCES.md").read_text()
    missing = [p.name for p in FIXTURES.iterdir() if p.name != "SOURCES.md" and f"`{p.name}`" not in sources]
    assert missing == []


def _event(code: str, code_type: str = "") -> CarrierEvent:
    return CarrierEvent(carrier="ecom_express", awb="1", code=code, code_type=code_type,
                        occurred_at=datetime(2026, 11, 3, tzinfo=IST))


def test_every_code_the_sandbox_emits_is_mapped() -> None:
    status_map = load_map(MAPS_DIR / "ecom_express.yaml")
    place = ("X", "XXX")
    scenarios = [None] + [Scenario("pickup_failed", params={"reason_code": c}) for c in sandbox_script.FAILURE_CODES]
    codes = {s.scan["reason_code_number"] for sc in scenarios
             for s in sandbox_script.lifecycle(sc, place, place, place)}
    codes.add(sandbox_script.cancelled(*place)["reason_code_number"])
    assert {c for c in codes if status_map.lookup(_event(c)) is None} == set()


def test_every_fixture_event_is_mapped() -> None:
    status_map = load_map(MAPS_DIR / "ecom_express.yaml")
    events = (wire.parse_tracking(fixture("track_rvp_lifecycle.xml"))
              + wire.parse_tracking(fixture("track_rto_completed.xml"))
              + wire.parse_webhook(fixture("push_status.json")))
    assert [e.raw_code for e in events if status_map.lookup(e) is None] == []


@pytest.mark.parametrize(("code", "code_type", "status", "reason"), [
    ("0011", "", Status.PICKED_UP, None),
    ("006", "", Status.OUT_FOR_DELIVERY, None),
    ("999", "", Status.DELIVERED, None),
    ("999", "RTS", Status.RETURNED_TO_SENDER, None),
    ("777", "", Status.IN_TRANSIT, None),
    ("219", "", Status.DELIVERY_FAILED, Reason.CUSTOMER_UNAVAILABLE),
    ("421", "", Status.DELIVERY_FAILED, Reason.CONTACT_UNREACHABLE),
    ("333", "", Status.EXCEPTION, Reason.LOST),
    ("99011", "", Status.PICKUP_FAILED, Reason.CUSTOMER_UNAVAILABLE),
    ("99020", "", Status.CANCELLED, Reason.CANCELLED_BY_MERCHANT),
])
def test_status_map(code: str, code_type: str, status: Status, reason: Reason | None) -> None:
    entry = load_map(MAPS_DIR / "ecom_express.yaml").lookup(_event(code, code_type))
    assert entry is not None
    assert (entry.status, entry.reason) == (status, reason)
