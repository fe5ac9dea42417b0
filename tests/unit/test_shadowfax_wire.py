"""Shadowfax's wire: every fixture parses, bodies are built as documented, errors land in the right class."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from carriers.base import Address, CarrierEvent, Contact, Item, Parcel, PickupRequest, QcAttributes
from carriers.errors import (
    CarrierAuthError,
    CarrierRejected,
    CarrierResponseInvalid,
    CarrierUnavailable,
    NotServiceable,
)
from carriers.sandbox import Scenario
from carriers.shadowfax import sandbox_script, wire
from normalizers.maps import MAPS_DIR, load_map
from normalizers.taxonomy import Reason, Status

FIXTURES = Path(wire.__file__).parent / "fixtures"
IST = timezone(timedelta(hours=5, minutes=30))
STATUS_MAP = load_map(MAPS_DIR / "shadowfax.yaml")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def make_request(qc: QcAttributes | None = None) -> PickupRequest:
    return PickupRequest(
        reference="RET-1001",
        pickup_address=Address(line1="12 MG Road", line2="Flat 4", city="Bengaluru", state="Karnataka",
                               postcode="560001"),
        pickup_contact=Contact(name="Asha R", phone="+91 98000 00000"),
        drop_address=Address(line1="Plot 5", city="Bhiwandi", state="Maharashtra", postcode="421302"),
        drop_contact=Contact(name="Acme WH", phone="9800000001", email="wh@acme.example"),
        parcel=Parcel(weight_g=800, length_cm=30, width_cm=20, height_cm=12.5),
        items=(Item(sku="SH-1", name="Shoes", quantity=2, price=Decimal("749.50"), category="footwear", qc=qc),),
        reason="size issue",
    )


# -- building -------------------------------------------------------------------------------


def test_reverse_request_body_uses_documented_fields() -> None:
    body = wire.build_create(make_request(), seller_code="ACME-BHW")
    assert (body["client_order_number"], body["total_amount"], body["price"]) == ("RET-1001", 1499.0, 1499.0)
    assert body["address_attributes"] == {
        "name": "Asha R", "phone_number": "9800000000", "alternate_contact": "",
        "address_line": "12 MG Road, Flat 4", "city": "Bengaluru", "country": "India", "pincode": 560001}
    assert body["seller_attributes"] == {
        "name": "Acme WH", "address_line": "Plot 5", "city": "Bhiwandi", "email": "wh@acme.example",
        "pincode": 421302, "phone": "9800000001", "unique_code": "ACME-BHW"}
    assert body["weight_details"] == {"actual_weight": 0.8, "volumetric_weight": 1.5}
    (sku,) = body["skus_attributes"]
    assert sku == {"name": "Shoes", "client_sku_id": "SH-1", "price": 749.5, "category": "footwear",
                   "return_reason": "size issue", "qc_required": "false",
                   "additional_details": {"quantity_value": 2}}


def test_qc_flag_and_brand() -> None:
    (sku,) = wire.build_create(make_request(QcAttributes(brand="Acme")), seller_code="S")["skus_attributes"]
    assert (sku["qc_required"], sku["brand"]) == ("true", "Acme")


def test_track_cancel_and_serviceability_requests() -> None:
    assert wire.build_track(["A", "B"]) == {"awb_numbers": ["A", "B"]}
    assert wire.build_cancel("A") == {"request_id": "A", "cancel_remarks": "Cancelled by merchant"}
    assert wire.serviceability_params("560001")["service"] == "customer_pickup"


# -- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["create_success.json", "create_success_nested.json"])
def test_create_success(name: str) -> None:
    booking = wire.parse_create(fixture(name))
    assert (booking.carrier, booking.awb) == ("shadowfax", "R0000000017SFX")


def test_create_duplicate_carries_the_first_awb() -> None:
    with pytest.raises(wire.DuplicateRequest) as caught:
        wire.parse_create(fixture("create_duplicate.json"))
    assert caught.value.awb == "R0000000017SFX"


@pytest.mark.parametrize(("name", "error"), [
    ("create_fail_non_serviceable.json", NotServiceable),
    ("create_fail_validation.json", CarrierRejected),
    ("create_fail_pending_invoices.json", CarrierAuthError),
])
def test_create_failures_raise_by_class(name: str, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        wire.parse_create(fixture(name))
    assert not isinstance(caught.value, wire.DuplicateRequest)


def test_validation_errors_are_flattened() -> None:
    text = wire.error_text({"address_attributes": {"phone_number": ["Enter a valid phone number."]}})
    assert text == "address_attributes: phone_number: Enter a valid phone number."


@pytest.mark.parametrize("raw", [b"", b'{"message": "Succ', b"[]", b'{"message": "Success"}', b'{"detail": 1}'])
def test_unparseable_create_is_invalid(raw: bytes) -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_create(raw)


def test_bulk_tracking_lifecycle_in_ist() -> None:
    events = wire.parse_tracking(fixture("track_bulk_rvp_lifecycle.json"))
    assert [e.code for e in events] == [
        "new", "assigned_for_pickup", "ofp", "seller_not_contactable", "ofp", "picked", "sent_to_rev",
        "recd_at_rev_hub", "bag_in_transit", "bag_received", "assigned_for_delivery", "ofd", "delivered"]
    first, failed = events[0], events[3]
    assert first.occurred_at == datetime(2026, 11, 2, 4, 30, tzinfo=UTC)
    assert first.occurred_at.utcoffset() == timedelta(hours=5, minutes=30)
    assert (failed.description, failed.remarks, failed.location) == (
        "Customer Not Contactable", "Will re-attempt tomorrow", "Bengaluru RVP DC")
    assert {e.awb for e in events} == {"R0000000017SFX"}


def test_single_tracking_and_empty_answers() -> None:
    assert [e.code for e in wire.parse_tracking(fixture("track_single.json"))] == ["new", "assigned_for_pickup"]
    assert wire.parse_tracking(fixture("track_bulk_empty.json")) == []
    assert wire.parse_tracking(fixture("track_invalid_awb.json")) == []


@pytest.mark.parametrize("raw", [b"{", b"{}", b'{"data": [{"tracking_details": [{"status_id": "ofp", '
                                 b'"awb_number": "1", "created": "yesterday"}]}]}'])
def test_tracking_garbage_is_invalid(raw: bytes) -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_tracking(raw)


def test_push_callback_matches_the_polled_scan() -> None:
    (event,) = wire.parse_webhook(fixture("push_callback.json"))
    assert (event.awb, event.code, event.description) == ("R0000000017SFX", "seller_not_contactable",
                                                          "Customer Not Contactable")
    assert event.occurred_at == datetime(2026, 11, 3, 12, 0, tzinfo=IST)
    polled = wire.parse_tracking(fixture("track_bulk_rvp_lifecycle.json"))[3]
    assert (polled.code, polled.occurred_at) == (event.code, event.occurred_at)


def test_cancel_responses() -> None:
    for name in ("cancel_success.json", "cancel_queued.json", "cancel_already.json"):
        wire.parse_cancel(fixture(name))
    with pytest.raises(CarrierRejected):
        wire.parse_cancel(fixture("cancel_invalid_state.json"))
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_cancel(b"{}")


def test_serviceability_shapes() -> None:
    assert wire.parse_serviceable(fixture("serviceability_listed.json"), "560001")
    assert not wire.parse_serviceable(fixture("serviceability_empty.json"), "560001")
    assert wire.parse_serviceable(b'[{"code": 560017, "services": ["Regular"]}]', "560017")
    assert wire.parse_serviceable(b'{"results": [{"pincode": 560017}]}', "560017")
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_serviceable(b'{"detail": "x"}', "560017")


@pytest.mark.parametrize(("status", "body", "error"), [
    (401, b'{"detail": "Invalid token."}', CarrierAuthError), (403, b"", CarrierAuthError),
    (400, b'{"message": "Failure", "errors": "pending invoices"}', CarrierAuthError),
    (400, b'{"message": "Invalid AWB number"}', CarrierRejected),
    (429, b"", CarrierUnavailable), (502, b"", CarrierUnavailable),
])
def test_http_status_classes(status: int, body: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        wire.check_http(status, body, "3")
    wire.check_http(200, b"{}")


# -- fixtures and map -----------------------------------------------------------------------


def test_every_fixture_has_a_source() -> None:
    sources = (FIXTURES / "SOURCES.md").read_text()
    missing = [p.name for p in FIXTURES.iterdir() if p.name != "SOURCES.md" and f"`{p.name}`" not in sources]
    assert missing == []


def _meaning(event: CarrierEvent) -> tuple[Status, Reason | None]:
    entry = STATUS_MAP.lookup(event)
    assert entry is not None, event.raw_code
    return entry.status, entry.reason


def test_status_map_gives_every_fixture_event_a_meaning() -> None:
    events = wire.parse_tracking(fixture("track_bulk_rvp_lifecycle.json")) + wire.parse_webhook(
        fixture("push_callback.json"))
    meanings = [_meaning(e) for e in events]
    assert [m[0] for m in meanings][:6] == [
        Status.CREATED, Status.PICKUP_SCHEDULED, Status.OUT_FOR_PICKUP, Status.PICKUP_FAILED,
        Status.OUT_FOR_PICKUP, Status.PICKED_UP]
    assert meanings[3] == meanings[-1] == (Status.PICKUP_FAILED, Reason.CONTACT_UNREACHABLE)
    assert meanings[-2] == (Status.DELIVERED, None)


def test_every_code_the_sandbox_emits_is_mapped() -> None:
    scripts = [sandbox_script.lifecycle(None, "a", "b", "c")]
    scripts += [sandbox_script.lifecycle(Scenario("pickup_failed", params={"reason_code": code}), "a", "b", "c")
                for code in sandbox_script.FAILURE_TEXTS]
    scans = [step.scan for script in scripts for step in script] + [sandbox_script.cancelled("a", "r")]
    for scan in scans:
        event = CarrierEvent(carrier="shadowfax", awb="1", code=scan["status_id"],
                             occurred_at=datetime(2026, 11, 2, tzinfo=IST))
        status, reason = _meaning(event)
        assert status is not Status.UNKNOWN
        if status is Status.PICKUP_FAILED:
            assert reason is not None, scan
