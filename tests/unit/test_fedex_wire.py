"""FedEx's wire: every fixture parses, bodies carry the documented fields, errors land in the right class."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from carriers.base import Address, CarrierEvent, Contact, Item, Parcel, PickupRequest
from carriers.errors import CarrierAuthError, CarrierRejected, CarrierResponseInvalid, CarrierUnavailable
from carriers.fedex import sandbox_script, wire, wire_track
from carriers.sandbox import Scenario
from normalizers.engine import normalize
from normalizers.machine import fold
from normalizers.maps import MAPS_DIR, load_map
from normalizers.taxonomy import Reason, Status

FIXTURES = Path(wire.__file__).parent / "fixtures"
EST, CST = timezone(timedelta(hours=-5)), timezone(timedelta(hours=-6))
STATUS_MAP = load_map(MAPS_DIR / "fedex.yaml")


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


# -- building -------------------------------------------------------------------------------


def test_token_form() -> None:
    form = parse_qs(wire.build_token_form("key", "s&cret").decode())
    assert form == {"grant_type": ["client_credentials"], "client_id": ["key"], "client_secret": ["s&cret"]}


def test_return_shipment_body_is_a_documented_return() -> None:
    body = wire.build_return_shipment(make_request(), account_number="740561073", service_type="FEDEX_GROUND")
    assert body["accountNumber"] == {"value": "740561073"}
    assert body["labelResponseOptions"] == "LABEL"
    shipment = body["requestedShipment"]
    assert shipment["shipper"]["contact"] == {"personName": "Asha Rao", "phoneNumber": "2125550143"}
    assert shipment["shipper"]["address"] == {
        "streetLines": ["350 Fifth Avenue", "Apt 4"], "city": "New York", "stateOrProvinceCode": "NY",
        "postalCode": "10118", "countryCode": "US", "residential": True}
    assert shipment["recipients"][0]["address"]["postalCode"] == "38118"
    services = shipment["shipmentSpecialServices"]
    assert services["specialServiceTypes"] == ["RETURN_SHIPMENT"]
    assert services["returnShipmentDetail"] == {"returnType": "PRINT_RETURN_LABEL", "rma": {"reason": "size too small"}}
    assert shipment["shippingChargesPayment"] == {
        "paymentType": "RECIPIENT", "payor": {"responsibleParty": {"accountNumber": {"value": "740561073"}}}}
    assert shipment["labelSpecification"] == {"imageType": "PDF", "labelStockType": "PAPER_4X6"}
    (package,) = shipment["requestedPackageLineItems"]
    assert package["weight"] == {"units": "LB", "value": 1.8}
    assert package["dimensions"] == {"length": 12, "width": 8, "height": 5, "units": "IN"}
    assert package["customerReferences"] == [{"customerReferenceType": "CUSTOMER_REFERENCE", "value": "RET-1001"}]
    for key in ("pickupType", "serviceType", "packagingType", "totalWeight"):
        assert shipment[key]


def test_pickup_body() -> None:
    body = wire.build_pickup(make_request(), "794953555571", account_number="740561073", carrier_code="FDXG",
                             pickup_date=date(2026, 11, 3))
    assert body["associatedAccountNumber"] == {"value": "740561073"}
    assert (body["carrierCode"], body["pickupType"], body["trackingNumber"]) == ("FDXG", "ON_CALL", "794953555571")
    origin = body["originDetail"]
    assert origin["readyDateTimestamp"] == "2026-11-03T09:00:00"
    assert origin["customerCloseTime"] == "17:00:00"
    assert origin["packageLocation"] == "FRONT"
    assert "residential" not in origin["pickupLocation"]["address"]
    assert len(body["remarks"]) <= 60
    assert body["countryRelationships"] == "DOMESTIC"


def test_small_bodies() -> None:
    handle = wire.PickupHandle("3001", date(2026, 11, 3), "FDXE", "COSA")
    assert wire.build_pickup_cancel(handle, account_number="1") == {
        "associatedAccountNumber": {"value": "1"}, "pickupConfirmationCode": "3001", "scheduledDate": "2026-11-03",
        "carrierCode": "FDXE", "location": "COSA"}
    assert wire.build_cancel("7949", account_number="1")["deletionControl"] == "DELETE_ALL_PACKAGES"
    track = wire.build_track(["1", "2"])
    assert track["includeDetailedScans"] is True
    assert track["trackingInfo"][1] == {"trackingNumberInfo": {"trackingNumber": "2"}}
    assert wire.build_reference_lookup("RET-1", account_number="1")["referencesInformation"] == {
        "type": "CUSTOMER_REFERENCE", "value": "RET-1", "accountNumber": "1"}
    availability = wire.build_availability(make_request().pickup_address, carrier_code="FDXG", is_domestic=True)
    assert (availability["carriers"], availability["countryRelationship"]) == (["FDXG"], "DOMESTIC")


def test_weight_never_below_minimum() -> None:
    assert wire.weight_lb(10) == 0.1
    assert wire.weight_lb(453) == 1.0


# -- parsing --------------------------------------------------------------------------------


def test_token() -> None:
    assert wire.parse_token(fixture("token_success.json")) == ("eyJhbGciOiJSUzI1NiJ9.REDACTED.REDACTED", 3599.0)
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_token(b'{"token_type": "bearer"}')


def test_ship_success_decodes_the_pdf() -> None:
    booking = wire.parse_shipment(fixture("ship_return_success.json"))
    assert (booking.carrier, booking.awb) == ("fedex", "794953555571")
    assert booking.label_pdf is not None and booking.label_pdf.startswith(b"%PDF")
    assert booking.label_fields == {"serviceType": "FEDEX_GROUND", "shipDatestamp": "2026-11-02"}


def test_ship_url_only_keeps_the_url() -> None:
    booking = wire.parse_shipment(fixture("ship_return_url_only.json"))
    assert booking.label_pdf is None
    assert booking.label_fields["label_url"].startswith("https://")


@pytest.mark.parametrize(("status", "name", "error"), [
    (400, "ship_error_invalid_input.json", CarrierRejected),
    (400, "pickup_error_previous_day.json", CarrierRejected),
    (401, "error_not_authorized.json", wire.TokenRejected),
    (403, "error_not_authorized.json", CarrierAuthError),
])
def test_errors_by_class(status: int, name: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        wire.check_http(status, fixture(name))


@pytest.mark.parametrize(("status", "body", "retry_after", "error"), [
    (429, b"Too Many Requests", "7", CarrierUnavailable),
    (503, b"<html>503</html>", None, CarrierUnavailable),
    (400, b'{"errors": [{"code": "SERVICE.UNAVAILABLE.ERROR"}]}', None, CarrierUnavailable),
    (422, b'{"errors": [{"code": "ACCOUNTNUMBER.REGISTRATION.REQUIRED"}]}', None, CarrierAuthError),
    (404, b'{"errors": [{"code": "NOT.FOUND.ERROR"}]}', None, CarrierRejected),
])
def test_http_status_classes(status: int, body: bytes, retry_after: str | None, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        wire.check_http(status, body, retry_after)
    if retry_after:
        assert getattr(caught.value, "retry_after_s", None) == 7.0
    wire.check_http(200, b"{}")


def test_pickup_and_cancel_answers() -> None:
    handle = wire.parse_pickup(fixture("pickup_success.json"), scheduled_date=date(2026, 11, 3), carrier_code="FDXE")
    assert handle == wire.PickupHandle("3001", date(2026, 11, 3), "FDXE", "COSA")
    wire.parse_pickup_cancel(fixture("pickup_cancel_success.json"))
    assert wire.parse_cancel(fixture("cancel_success.json")) is True
    assert wire.parse_cancel(fixture("cancel_refused.json")) is False
    assert wire.parse_availability(fixture("availability.json"), carrier_code="FDXG") is True
    assert wire.parse_availability(fixture("availability.json"), carrier_code="FDXE") is False


@pytest.mark.parametrize("raw", [b"", b'{"output": {"transactionShipments": [{"pieceResponses": []}]}}',
                                 b"[]", b'{"output": "x"}', b'{"success": tru'])
def test_unparseable_ship_is_invalid(raw: bytes) -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_shipment(raw)


def test_tracking_lifecycle_keeps_offsets_and_skips_unknown_numbers() -> None:
    events = wire_track.parse_tracking(fixture("track_return_lifecycle.json"))
    assert {e.awb for e in events} == {"794953555571"}
    oldest_first = sorted(events, key=lambda e: e.occurred_at)
    assert [(e.code, e.detail_code) for e in oldest_first] == [
        ("OC", ""), ("EP", ""), ("PD", "08"), ("EP", ""), ("PU", ""), ("AR", ""), ("DP", ""), ("IT", ""),
        ("AR", ""), ("OD", ""), ("DL", "")]
    failed = oldest_first[2]
    assert failed.occurred_at == datetime(2026, 11, 3, 14, 10, tzinfo=EST)
    assert failed.remarks == "Customer not available or business closed"
    assert failed.location == "NEW YORK, NY, US"
    assert oldest_first[-1].occurred_at.utcoffset() == CST.utcoffset(None)


def test_tracking_fixture_folds_to_delivered_after_two_attempts() -> None:
    events = [normalize(e, STATUS_MAP) for e in wire_track.parse_tracking(fixture("track_return_lifecycle.json"))]
    assert Status.UNKNOWN not in {e.status for e in events}
    state = fold(events)
    assert (state.status, state.pickup_attempts) == (Status.DELIVERED, 2)


def test_tracking_not_found_is_no_events() -> None:
    assert wire_track.parse_tracking(fixture("track_not_found.json")) == []


@pytest.mark.parametrize("raw", [b"{", b'{"output": {}}', b'{"output": {"completeTrackResults": [{}]}}',
                                 b'{"output": {"completeTrackResults": [{"trackResults": [{"trackingNumberInfo": '
                                 b'{"trackingNumber": "1"}, "scanEvents": [{"eventType": "PU", '
                                 b'"date": "2026-11-03T10:00:00"}]}]}]}}'])
def test_tracking_garbage_and_naive_times_are_invalid(raw: bytes) -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire_track.parse_tracking(raw)


def test_derived_status_fills_in_for_a_missing_event_type() -> None:
    raw = json.dumps({"output": {"completeTrackResults": [{"trackResults": [{
        "trackingNumberInfo": {"trackingNumber": "1"},
        "scanEvents": [{"derivedStatusCode": "IN", "date": "2026-11-03T10:00:00-05:00"}]}]}]}}).encode()
    (event,) = wire_track.parse_tracking(raw)
    assert (event.code_type, event.code) == ("derived", "IN")
    assert STATUS_MAP.lookup(event) is not None


def test_reference_lookup_skips_cancelled_shipments() -> None:
    assert wire_track.parse_reference_lookup(fixture("reference_lookup.json")) == "794953555571"
    assert wire_track.parse_reference_lookup(fixture("reference_not_found.json")) is None


def test_webhook_parses_and_signature_checks() -> None:
    raw = fixture("webhook_aiv.json")
    (event,) = wire_track.parse_webhook(raw)
    assert (event.awb, event.code, event.detail_code) == ("794953555571", "PD", "08")
    entry = STATUS_MAP.lookup(event)
    assert entry is not None and (entry.status, entry.reason) == (Status.PICKUP_FAILED, Reason.CUSTOMER_UNAVAILABLE)
    token = "Abcdefghijklmnopqrstuvwxyz012"
    signed = wire_track.signature(token, raw)
    assert wire_track.is_signed(token, signed, raw)
    assert not wire_track.is_signed(token, signed, raw + b" ")
    assert not wire_track.is_signed("", wire_track.signature("", raw), raw)
    with pytest.raises(CarrierResponseInvalid):
        wire_track.parse_webhook(b'{"trackingNumber": "1"}')


# -- fixtures and map -----------------------------------------------------------------------


def test_every_fixture_has_a_source() -> None:
    sources = (FIXTURES / "SOURCES.md").read_text()
    missing = [p.name for p in FIXTURES.iterdir() if p.name != "SOURCES.md" and f"`{p.name}`" not in sources]
    assert missing == []


def _sandbox_scans() -> list[dict[str, str]]:
    origin, dest = ("NEW YORK", "NY"), ("MEMPHIS", "TN")
    scripts = [sandbox_script.lifecycle(None, origin, dest)]
    scripts += [sandbox_script.lifecycle(Scenario("pickup_failed", params={"reason_code": code}), origin, dest)
                for code in sandbox_script.FAILURE_TEXTS]
    return [dict(step.scan) for steps in scripts for step in steps] + [sandbox_script.cancelled(*origin)]


def test_every_code_the_sandbox_emits_is_mapped() -> None:
    for scan in _sandbox_scans():
        event = CarrierEvent(carrier="fedex", awb="1", code=scan["eventType"], detail_code=scan["exceptionCode"],
                             occurred_at=datetime(2026, 11, 2, tzinfo=UTC))
        entry = STATUS_MAP.lookup(event)
        assert entry is not None, event.raw_code
        if scan["eventType"] == sandbox_script.FAILED_PICKUP_EVENT:
            assert entry.status is Status.PICKUP_FAILED and entry.reason is not None


@pytest.mark.parametrize(("code", "detail", "status", "reason"), [
    ("PD", "08", Status.PICKUP_FAILED, Reason.CUSTOMER_UNAVAILABLE),
    ("DE", "08", Status.DELIVERY_FAILED, Reason.CUSTOMER_UNAVAILABLE),
    ("DE", "ZZ", Status.DELIVERY_FAILED, Reason.OTHER),
    ("SE", "099", Status.EXCEPTION, Reason.OTHER),
    ("DE", "083", Status.DELIVERY_FAILED, Reason.ENTRY_RESTRICTED),
    ("CA", "", Status.CANCELLED, Reason.CANCELLED_BY_MERCHANT),
    ("RS", "", Status.RETURNED_TO_SENDER, None),
    ("EP", "", Status.OUT_FOR_PICKUP, None),
])
def test_map_scopes_exception_codes_by_event(code: str, detail: str, status: Status, reason: Reason | None) -> None:
    event = CarrierEvent(carrier="fedex", awb="1", code=code, detail_code=detail,
                         occurred_at=datetime(2026, 11, 2, tzinfo=UTC))
    entry = STATUS_MAP.lookup(event)
    assert entry is not None and (entry.status, entry.reason) == (status, reason)


def test_eta_only_codes_stay_unmapped() -> None:
    for code in ("AE", "AO"):
        event = CarrierEvent(carrier="fedex", awb="1", code=code, occurred_at=datetime(2026, 11, 2, tzinfo=UTC))
        assert STATUS_MAP.lookup(event) is None


def test_a_pickup_handle_travels_as_the_carrier_reference() -> None:
    ground = wire.PickupHandle("1001", date(2026, 11, 3), "FDXG")
    express = wire.PickupHandle("2002", date(2026, 11, 4), "FDXE", "NQAA")
    assert ground.reference == "1001:2026-11-03:FDXG"
    assert wire.PickupHandle.from_reference(ground.reference) == ground
    assert wire.PickupHandle.from_reference(express.reference) == express
    for legacy in ("1001", "", "1001:yesterday:FDXG", "1001::FDXG"):
        assert wire.PickupHandle.from_reference(legacy) is None
