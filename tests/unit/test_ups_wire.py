"""UPS's wire: every fixture parses, bodies carry the documented fields, errors land in the right class."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from carriers.base import Address, CarrierEvent, Contact, Item, Parcel, PickupRequest
from carriers.errors import (
    CarrierAuthError,
    CarrierRejected,
    CarrierResponseInvalid,
    CarrierUnavailable,
    NotServiceable,
)
from carriers.sandbox import Scenario
from carriers.ups import sandbox_script, wire, wire_track
from normalizers.engine import normalize
from normalizers.machine import fold
from normalizers.maps import MAPS_DIR, load_map
from normalizers.taxonomy import Reason, Status

FIXTURES = Path(wire.__file__).parent / "fixtures"
EST, CST = timezone(timedelta(hours=-5)), timezone(timedelta(hours=-6))
STATUS_MAP = load_map(MAPS_DIR / "ups.yaml")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def make_request(reference: str = "RET-1001") -> PickupRequest:
    return PickupRequest(
        reference=reference,
        pickup_address=Address(line1="350 Fifth Avenue", line2="Apt 4", city="New York", state="NY",
                               postcode="10118", country="US"),
        pickup_contact=Contact(name="Asha Rao", phone="(212) 555-0143", phone_region="US"),
        drop_address=Address(line1="1 Returns Way", city="Memphis", state="TN", postcode="38118", country="US"),
        drop_contact=Contact(name="Acme Returns", phone="901-555-0100", phone_region="US"),
        parcel=Parcel(weight_g=800, length_cm=30, width_cm=20, height_cm=12),
        items=(Item(sku="SH-42", name="Running shoes", price=Decimal("49.00")),),
        reason="size too small",
    )


def event(code_type: str, code: str, detail: str) -> CarrierEvent:
    return CarrierEvent(carrier="ups", awb="1Z", code_type=code_type, code=code, detail_code=detail,
                        occurred_at=datetime(2026, 11, 2, tzinfo=UTC))


# -- building -------------------------------------------------------------------------------


def test_return_shipment_body_is_a_documented_return() -> None:
    body = wire.build_return_shipment(make_request(), account_number="A1B2C3", service_code="03",
                                      return_service_code="9")
    request = body["ShipmentRequest"]
    assert request["Request"] == {"RequestOption": "nonvalidate",
                                  "TransactionReference": {"CustomerContext": "RET-1001"}}
    shipment = request["Shipment"]
    assert shipment["ReturnService"] == {"Code": "9"}
    assert shipment["Shipper"]["ShipperNumber"] == "A1B2C3"
    assert shipment["Shipper"]["Name"] == shipment["ShipTo"]["Name"] == "Acme Returns"
    assert shipment["ShipFrom"]["Phone"] == {"Number": "2125550143"}
    assert shipment["ShipFrom"]["Address"] == {"AddressLine": ["350 Fifth Avenue", "Apt 4"], "City": "New York",
                                              "StateProvinceCode": "NY", "PostalCode": "10118", "CountryCode": "US"}
    assert shipment["PaymentInformation"] == {"ShipmentCharge": [{"Type": "01",
                                                                  "BillShipper": {"AccountNumber": "A1B2C3"}}]}
    assert shipment["Service"] == {"Code": "03"}
    (package,) = shipment["Package"]
    assert package["Description"] and len(package["Description"]) <= 35
    assert package["PackageWeight"] == {"UnitOfMeasurement": {"Code": "LBS"}, "Weight": "1.8"}
    assert package["Dimensions"] == {"UnitOfMeasurement": {"Code": "IN"}, "Length": "12", "Width": "8", "Height": "5"}
    assert package["ReferenceNumber"] == [{"Code": "RZ", "Value": "RET-1001"}]
    assert request["LabelSpecification"] == {"LabelImageFormat": {"Code": "GIF"}}


def test_pickup_body() -> None:
    body = wire.build_pickup(make_request(), "1ZA1B2C39000000017", account_number="A1B2C3", service_code="03",
                             pickup_date=date(2026, 11, 3))["PickupCreationRequest"]
    assert body["PickupDateInfo"] == {"ReadyTime": "0900", "CloseTime": "1700", "PickupDate": "20261103"}
    assert body["RatePickupIndicator"] == "N"
    assert body["PaymentMethod"] == "01"
    assert body["PickupPiece"] == [{"ServiceCode": "003", "Quantity": "1", "DestinationCountryCode": "US",
                                    "ContainerCode": "01"}]
    assert body["PickupAddress"]["ResidentialIndicator"] == "Y"
    assert body["PickupAddress"]["Phone"] == {"Number": "2125550143"}
    assert body["TrackingData"] == [{"TrackingNumber": "1ZA1B2C39000000017"}]
    assert body["Shipper"]["Account"] == {"AccountNumber": "A1B2C3", "AccountCountryCode": "US"}


def test_paths() -> None:
    assert wire.void_path("1za1b2c39000000017") == "/api/shipments/v2409/void/cancel/1ZA1B2C39000000017"
    assert wire.track_path("1Z 1") == "/api/track/v1/details/1Z%201"
    assert wire.reference_path("RET/1") == "/api/track/v1/reference/details/RET%2F1"


# -- parsing --------------------------------------------------------------------------------


def test_token_numbers_come_as_text() -> None:
    assert wire.parse_token(fixture("token_success.json")) == ("eyJraWQiOiJSRURBQ1RFRCJ9.REDACTED.REDACTED", 14399.0)
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_token(b'{"access_token": "x", "expires_in": "soon"}')


@pytest.mark.parametrize("name", ["ship_return_success.json", "ship_return_success_object.json"])
def test_ship_success_list_or_object(name: str) -> None:
    booking = wire.parse_shipment(fixture(name))
    assert booking.awb.startswith("1ZA1B2C390") and booking.carrier == "ups"
    assert booking.label_pdf is None
    assert booking.label_fields == {"shipment_id": booking.awb, "label_format": "GIF"}


@pytest.mark.parametrize(("status", "name", "error"), [
    (400, "ship_error_not_serviceable.json", NotServiceable),
    (400, "ship_error_missing_shipfrom.json", CarrierRejected),
    (400, "pickup_error_invalid_date.json", CarrierRejected),
    (400, "void_refused.json", CarrierRejected),
    (401, "error_invalid_token.json", wire.TokenRejected),
    (400, "error_invalid_license.json", CarrierAuthError),
    (400, "track_invalid_number.json", CarrierRejected),
])
def test_errors_by_class(status: int, name: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        wire.check_http(status, fixture(name))


@pytest.mark.parametrize(("status", "body", "retry_after", "error"), [
    (429, b'{"response": {"errors": [{"code": "10429", "message": "Too Many Requests"}]}}', "7", CarrierUnavailable),
    (503, b"<html>503</html>", None, CarrierUnavailable),
    (403, b"{}", None, CarrierAuthError),
])
def test_http_status_classes(status: int, body: bytes, retry_after: str | None, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        wire.check_http(status, body, retry_after)
    if retry_after:
        assert getattr(caught.value, "retry_after_s", None) == 7.0
    wire.check_http(200, b"{}")


def test_pickup_void_answers() -> None:
    assert wire.parse_pickup(fixture("pickup_success.json")) == "2929AONCALL02"
    wire.parse_pickup_cancel(fixture("pickup_cancel_success.json"))
    assert wire.parse_void(fixture("void_success.json")) is True
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_pickup(b'{"PickupCreationResponse": {}}')
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_void(b'{"VoidShipmentResponse": {}}')


@pytest.mark.parametrize("raw", [b"", b'{"ShipmentResponse": {}}', b"[]", b'{"ShipmentResponse": {"ShipmentResults": '
                                 b'{"PackageResults": []}}}'])
def test_unparseable_ship_is_invalid(raw: bytes) -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_shipment(raw)


def test_tracking_lifecycle_keeps_local_offsets() -> None:
    events = sorted(wire_track.parse_tracking(fixture("track_return_lifecycle.json")), key=lambda e: e.occurred_at)
    assert [e.raw_code for e in events] == [
        "M/003/MP", "I/077/SP", "X/065/48", "I/077/SP", "I/038/PU", "I/005/AR", "I/005/DP", "I/005/AR",
        "I/005/DS", "I/021/OT", "D/011/FS"]
    failed = events[2]
    assert failed.occurred_at == datetime(2026, 11, 3, 14, 10, tzinfo=EST)
    assert failed.location == "New York, NY, US"
    assert events[-1].occurred_at == datetime(2026, 11, 6, 11, 31, tzinfo=CST)


def test_tracking_fixture_folds_to_delivered_after_two_attempts() -> None:
    events = [normalize(e, STATUS_MAP) for e in wire_track.parse_tracking(fixture("track_return_lifecycle.json"))]
    assert Status.UNKNOWN not in {e.status for e in events}
    failed = [e for e in events if e.status is Status.PICKUP_FAILED]
    assert [f.reason for f in failed] == [Reason.CUSTOMER_UNAVAILABLE]
    state = fold(events)
    assert (state.status, state.pickup_attempts) == (Status.DELIVERED, 2)


def test_tracking_not_found_is_no_events() -> None:
    assert wire_track.parse_tracking(fixture("track_not_found.json")) == []


@pytest.mark.parametrize("raw", [b"{", b'{"trackResponse": {}}', b'{"trackResponse": {"shipment": [{"package": '
                                 b'[{"trackingNumber": "1Z", "activity": [{"date": "20261103", "time": "1410", '
                                 b'"gmtOffset": "-05:00", "status": {"type": "I"}}]}]}]}}',
                                 b'{"trackResponse": {"shipment": [{"package": [{"trackingNumber": "1Z", "activity": '
                                 b'[{"date": "20261103", "time": "141000", "status": {"type": "I"}}]}]}]}}'])
def test_tracking_garbage_and_missing_offsets_are_invalid(raw: bytes) -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire_track.parse_tracking(raw)


def test_reference_lookup_skips_voided_shipments() -> None:
    assert wire_track.parse_reference_lookup(fixture("reference_lookup.json")) == "1ZA1B2C39000000017"
    assert wire_track.parse_reference_lookup(fixture("track_not_found.json")) is None


def test_track_alert_webhook_and_credential() -> None:
    (hook,) = wire_track.parse_webhook(fixture("track_alert_webhook.json"))
    assert (hook.awb, hook.code_type, hook.code, hook.detail_code) == ("1ZA1B2C39000000017", "X", "", "48")
    assert hook.occurred_at == datetime(2026, 11, 3, 14, 10, tzinfo=EST)  # "-05.00" read as -05:00
    assert wire_track.is_authentic("s3cret", "s3cret")
    assert not wire_track.is_authentic("s3cret", "other")
    assert not wire_track.is_authentic("", "")
    with pytest.raises(CarrierResponseInvalid):
        wire_track.parse_webhook(b'{"trackingNumber": "1Z"}')


# -- fixtures and map -----------------------------------------------------------------------


def test_every_fixture_has_a_source() -> None:
    sources = (FIXTURES / "SOURCES.md").read_text()
    missing = [p.name for p in FIXTURES.iterdir() if p.name != "SOURCES.md" and f"`{p.name}`" not in sources]
    assert missing == []


def _sandbox_scans() -> list[dict[str, str]]:
    origin, dest = ("New York", "NY"), ("Memphis", "TN")
    scripts = [sandbox_script.lifecycle(None, origin, dest)]
    scripts += [sandbox_script.lifecycle(Scenario("pickup_failed", params={"reason_code": code}), origin, dest)
                for code in sandbox_script.FAILURE_TEXTS]
    return [dict(step.scan) for steps in scripts for step in steps] + [sandbox_script.voided(*origin)]


def test_every_code_the_sandbox_emits_is_mapped() -> None:
    for scan in _sandbox_scans():
        for with_status_code in (True, False):  # Track API, then Track Alert (no statusCode)
            entry = STATUS_MAP.lookup(event(scan["type"], scan["statusCode"] if with_status_code else "", scan["code"]))
            assert entry is not None, scan
        entry = STATUS_MAP.lookup(event(scan["type"], scan["statusCode"], scan["code"]))
        if scan["statusCode"] == sandbox_script.PICKUP_ATTEMPTED:
            assert entry is not None and entry.status is Status.PICKUP_FAILED and entry.reason is not None


@pytest.mark.parametrize(("code_type", "code", "detail", "status", "reason"), [
    ("X", "065", "48", Status.PICKUP_FAILED, Reason.CUSTOMER_UNAVAILABLE),
    ("X", "022", "48", Status.DELIVERY_FAILED, Reason.CUSTOMER_UNAVAILABLE),
    ("X", "065", "G4", Status.PICKUP_FAILED, Reason.ITEM_NOT_READY),
    ("X", "065", "ZZ", Status.PICKUP_FAILED, Reason.OTHER),
    ("X", "013", "BA", Status.EXCEPTION, Reason.OTHER),
    ("I", "005", "DS", Status.IN_TRANSIT, None),
    ("X", "", "DS", Status.EXCEPTION, Reason.ADDRESS_ISSUE),
    ("MV", "007", "VP", Status.CANCELLED, Reason.CANCELLED_BY_MERCHANT),
    ("X", "", "YU", Status.EXCEPTION, Reason.QC_FAILED),
    ("D", "161", "2Q", Status.DELIVERED, None),
])
def test_map_scopes_codes_by_type_and_leg(code_type: str, code: str, detail: str, status: Status,
                                          reason: Reason | None) -> None:
    entry = STATUS_MAP.lookup(event(code_type, code, detail))
    assert entry is not None and (entry.status, entry.reason) == (status, reason)


def test_eta_updates_stay_unmapped() -> None:
    assert STATUS_MAP.lookup(event("U", "153", "UT")) is None
