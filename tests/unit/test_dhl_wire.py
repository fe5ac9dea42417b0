"""DHL's wire: every fixture parses, bodies use the documented names, errors land in the right class."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from carriers.base import Address, CarrierEvent, Contact, Item, Parcel, PickupRequest
from carriers.dhl import sandbox, sandbox_script, wire, wire_tracking
from carriers.errors import (
    CarrierAuthError,
    CarrierRejected,
    CarrierResponseInvalid,
    CarrierUnavailable,
    NotServiceable,
)
from carriers.sandbox import SandboxBooking, SandboxControl, Scenario
from normalizers.maps import MAPS_DIR, load_map
from normalizers.taxonomy import Reason, Status

FIXTURES = Path(wire.__file__).parent / "fixtures"
EST = timezone(timedelta(hours=-5))
CST = timezone(timedelta(hours=-6))


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def make_request(*, drop_country: str = "US") -> PickupRequest:
    drop = (Address(line1="1 Returns Way", city="Memphis", state="TN", postcode="38118", country="US")
            if drop_country == "US" else Address(line1="Dam 1", city="Amsterdam", postcode="1012AB", country="NL"))
    return PickupRequest(
        reference="RET-1001",
        pickup_address=Address(line1="350 Fifth Avenue", line2="Floor 3", city="New York", state="NY",
                               postcode="10118", country="US"),
        pickup_contact=Contact(name="Jane Buyer", phone="2125550143", phone_region="US", email="jane@example.com"),
        drop_address=drop,
        drop_contact=Contact(name="Returns DC", phone="9015550100", phone_region="US"),
        parcel=Parcel(weight_g=1200, length_cm=30, width_cm=20, height_cm=10),
        items=(Item(sku="SH-1", name="Shoes", price=Decimal("49.00")),), reason="size",
        pickup_date=date(2026, 11, 3))


def build(request: PickupRequest) -> dict[str, object]:
    return wire.build_shipment(request, account="123456789", product_code="N", currency="USD", close_time="18:00",
                               planned_at=datetime(2026, 11, 3, 10, 0, tzinfo=EST))


# -- building -------------------------------------------------------------------------------


def test_shipment_body_is_a_return_with_a_pickup() -> None:
    body = build(make_request())
    assert body["plannedShippingDateAndTime"] == "2026-11-03T10:00:00 GMT-05:00"
    assert body["pickup"] == {"isRequested": True, "closeTime": "18:00", "locationType": "residence"}
    assert body["productCode"] == "N"
    assert body["accounts"] == [{"typeCode": "shipper", "number": "123456789"}]
    assert body["valueAddedServices"] == [{"serviceCode": "PH"}]
    assert body["customerReferences"] == [{"value": "RET-1001", "typeCode": "CU"}]
    details = body["customerDetails"]
    assert isinstance(details, dict)
    shipper, receiver = details["shipperDetails"], details["receiverDetails"]
    assert shipper["postalAddress"] == {"postalCode": "10118", "cityName": "New York", "countryCode": "US",
                                        "addressLine1": "350 Fifth Avenue", "addressLine2": "Floor 3",
                                        "provinceCode": "NY"}
    assert shipper["contactInformation"] == {"fullName": "Jane Buyer", "companyName": "Jane Buyer",
                                             "phone": "+12125550143", "email": "jane@example.com"}
    assert receiver["postalAddress"]["cityName"] == "Memphis"
    content = body["content"]
    assert isinstance(content, dict)
    assert content["packages"][0]["weight"] == 1.2
    assert content["packages"][0]["dimensions"] == {"length": 30, "width": 20, "height": 10}
    assert content["isCustomsDeclarable"] is False and "exportDeclaration" not in content
    assert content["unitOfMeasurement"] == "metric" and content["incoterm"] == "DAP"


def test_cross_border_return_carries_an_export_declaration() -> None:
    content = build(make_request(drop_country="NL"))["content"]
    assert isinstance(content, dict)
    assert content["isCustomsDeclarable"] is True
    assert content["declaredValue"] == 49.0 and content["declaredValueCurrency"] == "USD"
    declaration = content["exportDeclaration"]
    assert declaration["exportReasonType"] == "return"
    assert declaration["lineItems"][0]["quantity"] == {"value": 1, "unitOfMeasurement": "PCS"}
    assert declaration["invoice"] == {"number": "RET-1001", "date": "2026-11-03"}


def test_planned_time_keeps_its_offset_and_refuses_naive_times() -> None:
    assert wire.format_planned(datetime(2026, 3, 4, 10, 0, tzinfo=timezone(timedelta(hours=1)))) == \
        "2026-03-04T10:00:00 GMT+01:00"
    assert wire.format_planned(datetime(2026, 3, 4, 10, 0, tzinfo=UTC)) == "2026-03-04T10:00:00 GMT+00:00"
    with pytest.raises(ValueError):
        wire.format_planned(datetime(2026, 3, 4, 10, 0))


def test_tracking_and_lookup_queries() -> None:
    query = wire.build_tracking(["1", "2"])
    assert query[:2] == [("shipmentTrackingNumber", "1"), ("shipmentTrackingNumber", "2")]
    assert ("trackingView", "all-checkpoints") in query
    lookup = dict(wire.build_reference_lookup("RET-1", account="123", today=date(2026, 11, 20)))
    assert lookup["shipmentReference"] == "RET-1" and lookup["shipperAccountNumber"] == "123"
    assert lookup["dateRangeFrom"] == "2026-11-10" and lookup["dateRangeTo"] == "2026-11-21"
    assert wire.build_pickup_cancel("Ops", "why") == {"requestorName": "Ops", "reason": "why"}
    assert wire.pickup_path("PRG 1/2") == "/pickups/PRG%201%2F2"


# -- parsing --------------------------------------------------------------------------------


def test_shipment_response_gives_awb_pickup_number_and_label_pdf() -> None:
    booking = wire.parse_shipment(fixture("shipment_create_success.json"))
    assert booking.awb == "5786694001" and booking.carrier == "dhl"
    assert booking.carrier_reference == "PRG261102000001"
    assert booking.label_pdf is not None and booking.label_pdf.startswith(b"%PDF")
    assert booking.label_fields["pieces"] == "JD014600001234567890"


@pytest.mark.parametrize(("status", "name", "error"), [
    (422, "shipment_create_validation_error.json", CarrierRejected),
    (422, "shipment_create_not_serviceable.json", NotServiceable),
    (401, "shipment_create_validation_error.json", CarrierAuthError),
    (503, "shipment_create_validation_error.json", CarrierUnavailable),
])
def test_errors_land_in_their_class(status: int, name: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        wire.check_http(status, fixture(name))


def test_429_carries_retry_after() -> None:
    with pytest.raises(CarrierUnavailable) as caught:
        wire.check_http(429, b"Too Many Requests", "7")
    assert caught.value.retry_after_s == 7.0


def test_malformed_bodies_are_invalid() -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_shipment(b'{"shipmentTrackingNumber": "12')
    with pytest.raises(CarrierResponseInvalid):
        wire_tracking.parse_tracking(b"[]")
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_shipment(b'{"warnings": []}')


def test_tracking_keeps_offsets_and_reads_the_pickup_leg() -> None:
    events = wire_tracking.parse_tracking(fixture("tracking_return_lifecycle.json"))
    assert [(e.code_type, e.code) for e in events][:5] == [
        ("pickup", "WC"), ("pickup", "NH"), ("pickup", "WC"), ("express", "PU"), ("express", "PL")]
    assert events[-2:][0].code_type == "express" and events[-1].code == "OK"
    assert events[0].occurred_at == datetime(2026, 11, 3, 9, 30, tzinfo=EST)
    assert events[-1].occurred_at.utcoffset() == CST.utcoffset(None)
    assert events[-1].remarks == "RETURNS DC" and events[-1].location == "Memphis-US"


def test_tracking_sorts_by_time_whatever_the_order() -> None:
    body = json.loads(fixture("tracking_return_lifecycle.json"))
    body["shipments"][0]["events"].reverse()
    events = wire_tracking.parse_tracking(json.dumps(body).encode())
    assert events[0].code_type == "pickup" and events[-1].code == "OK"


def test_no_shipment_found_is_no_events_and_lookup_finds_the_reference() -> None:
    assert wire_tracking.parse_tracking(fixture("tracking_not_found.json")) == []
    assert wire_tracking.parse_reference_lookup(fixture("reference_lookup.json"), "RET-1001") == "5786694001"
    assert wire_tracking.parse_reference_lookup(fixture("reference_lookup.json"), "RET-9") is None
    assert wire_tracking.parse_reference_lookup(fixture("tracking_not_found.json"), "RET-1001") is None


def test_checkpoint_without_offset_is_invalid() -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire_tracking.parse_checkpoint_time("2026-11-03", "09:30:00", "")


def test_pickup_cancel_twice_is_fine_and_unknown_is_rejected() -> None:
    wire.parse_pickup_cancel(200, b'{"message": "Pickup cancelled"}')
    wire.parse_pickup_cancel(400, fixture("pickup_cancel_already.json"))
    with pytest.raises(CarrierRejected):
        wire.parse_pickup_cancel(404, fixture("tracking_not_found.json"))
    assert wire.parse_pickup_update(fixture("pickup_update_success.json")) == "PRG261102000001"


def test_push_is_parsed_and_its_signature_checked() -> None:
    body = fixture("unified_push.json")
    events = wire_tracking.parse_push(body)
    assert [(e.code_type, e.code) for e in events] == [("unified", "transit"), ("unified", "pre-transit"),
                                                       ("unified", "failure")]
    assert events[0].occurred_at == datetime(2026, 11, 4, 11, 30, tzinfo=EST)
    signature = wire_tracking.sign_push(body, "s3cret")
    assert wire_tracking.is_signed_push({"dhl-signature": signature}, body, "s3cret")
    assert not wire_tracking.is_signed_push({"dhl-signature": signature}, body + b" ", "s3cret")
    assert not wire_tracking.is_signed_push({}, body, "s3cret")
    assert not wire_tracking.is_signed_push({"DHL-Signature": signature}, body, "")


def test_unified_time_without_offset_is_read_as_utc() -> None:
    assert wire_tracking.parse_unified_time("2018-03-02T07:53:47") == datetime(2018, 3, 2, 7, 53, 47, tzinfo=UTC)
    assert wire_tracking.parse_unified_time("2018-03-02T07:53:47Z").tzinfo is not None


# -- fixtures and map -----------------------------------------------------------------------


def test_every_fixture_has_a_source() -> None:
    sources = (FIXTURES / "SOURCES.md").read_text()
    missing = [p.name for p in FIXTURES.iterdir() if p.name != "SOURCES.md" and f"`{p.name}`" not in sources]
    assert not missing, f"fixtures without a source in SOURCES.md: {missing}"


def test_every_fixture_event_has_a_meaning() -> None:
    status_map = load_map(MAPS_DIR / "dhl.yaml")
    events = (wire_tracking.parse_tracking(fixture("tracking_return_lifecycle.json"))
              + wire_tracking.parse_push(fixture("unified_push.json")))
    unmapped = [e.raw_code for e in events if status_map.lookup(e) is None]
    assert not unmapped


def _sandbox_events(scenario: Scenario | None, cancel: bool = False) -> list[CarrierEvent]:
    control = SandboxControl()
    request = build(make_request()) | {"dispatch": "PRG1"}
    booking = SandboxBooking(reference="RET-1", awb="5786694001", booked_at=control.clock.now(),
                             script=sandbox_script.lifecycle(scenario, "New York", "Memphis"), request=request)
    control.bookings[booking.awb] = booking
    if cancel:
        booking.interrupt(control.clock.now(), sandbox_script.cancelled())
    control.advance(200 * 3600)
    raw = json.dumps({"shipments": [sandbox._shipment_json(booking, control.clock.now(), True)]}).encode()
    _, push = sandbox.webhook_example(control, booking.awb, "s")
    return [*wire_tracking.parse_tracking(raw), *wire_tracking.parse_push(push)]


@pytest.mark.parametrize("reason_code", [None, *sorted(set(sandbox_script.DESCRIPTIONS) & wire_tracking.PICKUP_LEG_CODES
                                                       - {"WC", "SS"})])
def test_every_code_the_sandbox_emits_is_mapped(reason_code: str | None) -> None:
    status_map = load_map(MAPS_DIR / "dhl.yaml")
    scenario = Scenario("pickup_failed", params={"reason_code": reason_code}) if reason_code else None
    for events in (_sandbox_events(scenario), _sandbox_events(None, cancel=True)):
        unmapped = [e.raw_code for e in events if status_map.lookup(e) is None]
        assert not unmapped


@pytest.mark.parametrize(("code_type", "code", "status", "reason"), [
    ("pickup", "WC", Status.OUT_FOR_PICKUP, None),
    ("express", "WC", Status.OUT_FOR_DELIVERY, None),
    ("pickup", "NH", Status.PICKUP_FAILED, Reason.CUSTOMER_UNAVAILABLE),
    ("express", "NH", Status.DELIVERY_FAILED, Reason.CUSTOMER_UNAVAILABLE),
    ("pickup", "SS", Status.CANCELLED, Reason.CANCELLED_BY_MERCHANT),
    ("express", "PU", Status.PICKED_UP, None),
])
def test_map_scopes_codes_by_leg(code_type: str, code: str, status: Status, reason: Reason | None) -> None:
    event = CarrierEvent(carrier="dhl", awb="1", code=code, code_type=code_type,
                         occurred_at=datetime(2026, 11, 3, tzinfo=UTC))
    entry = load_map(MAPS_DIR / "dhl.yaml").lookup(event)
    assert entry is not None and (entry.status, entry.reason) == (status, reason)


def test_ambiguous_codes_stay_unmapped() -> None:
    status_map = load_map(MAPS_DIR / "dhl.yaml")
    for code in ("CS", "DS"):
        event = CarrierEvent(carrier="dhl", awb="1", code=code, code_type="express",
                             occurred_at=datetime(2026, 11, 3, tzinfo=UTC))
        assert status_map.lookup(event) is None
