"""DTDC's wire: every fixture parses, bodies are built as documented, errors land in the right class."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from carriers.base import Address, CarrierEvent, Contact, Item, Parcel, PickupRequest
from carriers.dtdc import sandbox, sandbox_script, wire
from carriers.errors import (
    CarrierAuthError,
    CarrierRejected,
    CarrierResponseInvalid,
    CarrierUnavailable,
    NotServiceable,
)
from carriers.sandbox import SandboxBooking, Scenario
from normalizers.maps import MAPS_DIR, load_map
from normalizers.taxonomy import Reason, Status

FIXTURES = Path(wire.__file__).parent / "fixtures"
IST = timezone(timedelta(hours=5, minutes=30))
STATUS_MAP = load_map(MAPS_DIR / "dtdc.yaml")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def make_request(reference: str = "RET-1001") -> PickupRequest:
    return PickupRequest(
        reference=reference,
        pickup_address=Address(line1="12 MG Road", line2="Flat 4", city="Bengaluru", state="Karnataka",
                               postcode="560001"),
        pickup_contact=Contact(name="Asha R", phone="+91 98000 00000", email="asha@example.com"),
        drop_address=Address(line1="Plot 5", city="Bhiwandi", state="Maharashtra", postcode="421302"),
        drop_contact=Contact(name="Acme WH", phone="9800000001"),
        parcel=Parcel(weight_g=800, length_cm=30, width_cm=20, height_cm=12.5),
        items=(Item(sku="SH-1", name="Shoes", price=Decimal("1499.00"), category="footwear"),),
        reason="size issue",
    )


# -- building -------------------------------------------------------------------------------


def test_softdata_body_is_a_documented_reverse_consignment() -> None:
    body = wire.build_softdata(make_request(), customer_code="GL0001", service_type_id="B2C PRIORITY")
    (consignment,) = body["consignments"]
    assert consignment["consignment_type"] == "REVERSE"
    assert (consignment["customer_code"], consignment["service_type_id"], consignment["load_type"]) == (
        "GL0001", "B2C PRIORITY", "NON-DOCUMENT")
    assert consignment["customer_reference_number"] == "RET-1001"
    assert (consignment["weight_unit"], consignment["weight"]) == ("kg", "0.800")
    assert (consignment["dimension_unit"], consignment["length"], consignment["height"]) == ("cm", "30", "12.5")
    assert (consignment["declared_value"], consignment["num_pieces"]) == ("1499.00", "1")
    assert consignment["is_risk_surcharge_applicable"] is False
    origin, destination = consignment["origin_details"], consignment["destination_details"]
    assert (origin["name"], origin["phone"], origin["pincode"]) == ("Asha R", "9800000000", "560001")
    assert (origin["address_line_1"], origin["address_line_2"], origin["email"]) == (
        "12 MG Road", "Flat 4", "asha@example.com")
    assert (destination["name"], destination["pincode"], destination["city"]) == ("Acme WH", "421302", "Bhiwandi")
    assert consignment["return_details"]["city_name"] == "Bhiwandi"
    assert consignment["return_details"]["state_name"] == "Maharashtra"


def test_cancel_track_and_label_requests() -> None:
    assert wire.build_cancel(["7D1"], customer_code="GL0001") == {"AWBNo": ["7D1"], "customerCode": "GL0001"}
    assert wire.build_track("7D1") == {"trkType": "cnno", "strcnno": "7D1", "addtnlDtl": "Y"}
    assert wire.build_track("RET-1", by_reference=True)["trkType"] == "reference"
    assert wire.label_params("7D1", "SHIP_LABEL_4X6") == {
        "reference_number": "7D1", "label_code": "SHIP_LABEL_4X6", "label_format": "pdf"}


# -- parsing --------------------------------------------------------------------------------


def test_softdata_success() -> None:
    booking = wire.parse_softdata(fixture("softdata_success.json"))
    assert (booking.carrier, booking.awb, booking.carrier_reference) == ("dtdc", "7D000000017", "RET-1001")
    assert booking.label_fields["piece_number"] == "7D000000017001"


@pytest.mark.parametrize(("name", "error"), [
    ("softdata_fail_non_serviceable.json", NotServiceable),
    ("softdata_fail_customer_code.json", CarrierAuthError),
])
def test_softdata_failures_raise_by_class(name: str, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        wire.parse_softdata(fixture(name))
    assert not isinstance(caught.value, wire.DuplicateConsignment)


def test_softdata_duplicate_is_its_own_marker() -> None:
    with pytest.raises(wire.DuplicateConsignment) as caught:
        wire.parse_softdata(fixture("softdata_duplicate.json"))
    assert caught.value.reference == "RET-1001"
    with pytest.raises(CarrierRejected):
        wire.parse_softdata(b'{"status": "OK", "data": [{"success": false, "message": "weight missing"}]}')


@pytest.mark.parametrize("raw", [b"", b'{"status": "OK", "data": [{"refer', b"[]", b'{"status": "OK"}',
                                 b'{"status": "OK", "data": []}', b"<html>502</html>"])
def test_unparseable_softdata_is_invalid(raw: bytes) -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_softdata(raw)


def test_cancel_responses() -> None:
    wire.parse_cancel(fixture("cancel_success.json"))
    wire.parse_cancel(fixture("cancel_already_cancelled.json"))
    with pytest.raises(CarrierRejected):
        wire.parse_cancel(fixture("cancel_after_pickup.json"))
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_cancel(b"{}")


def test_label_pdf_base64_and_not_found() -> None:
    pdf = wire.parse_label(fixture("label_base64.json"))
    assert pdf is not None and pdf.startswith(b"%PDF")
    assert wire.parse_label(pdf) == pdf
    assert wire.parse_label(fixture("label_not_found.json")) is None
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_label(b'{"label": "bm90IGEgcGRm"}')


def test_token() -> None:
    assert wire.parse_token(fixture("auth_token.txt")) == "GL0001_trk_json:5f0c2a9e1d7b4c3a8e6f2d1c0b9a8e7f"
    for raw in (b"", b"<html>error</html>", b'{"error": 1}'):
        with pytest.raises(CarrierResponseInvalid):
            wire.parse_token(raw)


def test_tracking_lifecycle_in_order_with_ist_offset_kept() -> None:
    events = wire.parse_tracking(fixture("track_rvp_lifecycle.json"))
    assert [e.code for e in events] == ["BKD", "PKPSCH", "OUTPKP", "NONPKP", "OUTPKP", "PKPDONE", "OBMD", "CDOUT",
                                        "CDIN", "inscan", "OUTDLV", "DLV"]
    assert {e.awb for e in events} == {"7D000000017"}
    first, failed, delivered = events[0], events[3], events[-1]
    assert first.occurred_at == datetime(2026, 11, 2, 10, 0, tzinfo=IST)
    assert first.occurred_at.utcoffset() == timedelta(hours=5, minutes=30)
    assert (failed.detail_code, failed.remarks) == ("PARTY NOT AVAILABLE", "PARTY NOT AVAILABLE-(CIR)")
    assert failed.location == "BENGALURU BRANCH, BENGALURU"
    # A remark that is no reason (a signature, a weight) is kept as remarks, not as a code.
    assert (delivered.detail_code, delivered.remarks) == ("", "SIGN")
    assert events[9].detail_code == ""


def test_tracking_header_only_is_one_status_event() -> None:
    (event,) = wire.parse_tracking(fixture("track_header_only.json"))
    assert (event.code_type, event.code) == ("status", "NOT DELIVERED")
    assert event.occurred_at == datetime(2026, 11, 5, 18, 30, tzinfo=IST)


def test_tracking_unknown_awb_is_no_events() -> None:
    assert wire.parse_tracking(fixture("track_no_data.json")) == []
    assert wire.parse_reference_lookup(fixture("track_no_data.json")) is None
    assert wire.parse_reference_lookup(fixture("track_rvp_lifecycle.json")) == "7D000000017"


@pytest.mark.parametrize("raw", [b"{", b'{"status": "SUCCESS", "trackHeader": []}',
                                 b'{"status": "SUCCESS", "trackHeader": {"strShipmentNo": "7D1"}, '
                                 b'"trackDetails": [{"strCode": "BKD", "strActionDate": "yesterday"}]}'])
def test_tracking_garbage_is_invalid(raw: bytes) -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_tracking(raw)


@pytest.mark.parametrize(("remark", "code"), [
    ("RECEIVER REFUSED DELIVERY(CIR)", "RECEIVER REFUSED DELIVERY"),
    ("contact name /  dept not mentioned-(CIR)", "CONTACT NAME / DEPT NOT MENTIONED"),
    ("AREA NON SERVICEABLE-(DIR)", "AREA NON SERVICEABLE"),
    ("RESCHEDULED", "RESCHEDULED"),
])
def test_remark_code(remark: str, code: str) -> None:
    assert wire.remark_code(remark) == code


@pytest.mark.parametrize(("status", "retry_after", "error"), [
    (401, None, CarrierAuthError), (403, None, CarrierAuthError), (429, "7", CarrierUnavailable),
    (503, None, CarrierUnavailable), (400, None, CarrierRejected),
])
def test_http_status_classes(status: int, retry_after: str | None, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        wire.check_http(status, b"nope", retry_after)
    if retry_after:
        assert getattr(caught.value, "retry_after_s", None) == 7.0
    wire.check_http(200, b"{}")


# -- fixtures and map -----------------------------------------------------------------------


def test_every_fixture_has_a_source() -> None:
    sources = (FIXTURES / "SOURCES.md").read_text()
    missing = [p.name for p in FIXTURES.iterdir() if p.name != "SOURCES.md" and f"`{p.name}`" not in sources]
    assert missing == []


def test_status_map_gives_every_fixture_event_a_meaning() -> None:
    events = wire.parse_tracking(fixture("track_rvp_lifecycle.json"))
    entries = [STATUS_MAP.lookup(e) for e in events]
    assert None not in entries
    statuses = [e.status for e in entries if e]
    assert statuses[:6] == [Status.CREATED, Status.PICKUP_SCHEDULED, Status.OUT_FOR_PICKUP, Status.PICKUP_FAILED,
                            Status.OUT_FOR_PICKUP, Status.PICKED_UP]
    assert statuses[-2:] == [Status.OUT_FOR_DELIVERY, Status.DELIVERED]
    assert entries[3] is not None and entries[3].reason is Reason.CUSTOMER_UNAVAILABLE
    (header,) = wire.parse_tracking(fixture("track_header_only.json"))
    assert STATUS_MAP.lookup(header) is not None


@pytest.mark.parametrize(("code", "remark", "status", "reason"), [
    ("NONDLV", "RECEIVER NOT AVAILABLE-(CIR)", Status.DELIVERY_FAILED, Reason.CUSTOMER_UNAVAILABLE),
    ("NONDLV", "CONSIGNMENT LOST-(OTR)", Status.EXCEPTION, Reason.LOST),
    ("NONPKP", "RESTRICTED ENTRY-(OTR)", Status.PICKUP_FAILED, Reason.ENTRY_RESTRICTED),
    ("NONDLV", "A REMARK NOBODY DOCUMENTED", Status.DELIVERY_FAILED, None),
    ("RTODLV", "", Status.RETURNED_TO_SENDER, None),
])
def test_status_map_reasons(code: str, remark: str, status: Status, reason: Reason | None) -> None:
    action = {"strCode": code, "strAction": "x", "strActionDate": "05112026", "strActionTime": "1000",
              "sTrRemarks": remark}
    body = {"status": "SUCCESS", "trackHeader": {"strShipmentNo": "7D1"}, "trackDetails": [action]}
    (event,) = wire.parse_tracking(json.dumps(body).encode())
    entry = STATUS_MAP.lookup(event)
    assert entry is not None and (entry.status, entry.reason) == (status, reason)


def _sandbox_events(scenario: Scenario | None, *, cancel: bool = False) -> list[CarrierEvent]:
    booked_at = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)
    booking = SandboxBooking(reference="RET-1", awb="7D1", booked_at=booked_at,
                             script=sandbox_script.lifecycle(scenario, "A", "B", "C"))
    if cancel:
        booking.interrupt(booked_at + timedelta(hours=2), sandbox_script.cancelled("A"))
    body = sandbox._track_json(booking, booked_at + timedelta(days=10), with_details=True)
    return wire.parse_tracking(json.dumps(body).encode())


def test_every_code_the_sandbox_emits_is_mapped() -> None:
    events = (_sandbox_events(None) + _sandbox_events(Scenario("pickup_failed"))
              + _sandbox_events(None, cancel=True))
    unmapped = [e.raw_code for e in events if STATUS_MAP.lookup(e) is None]
    assert unmapped == []
    failures = [STATUS_MAP.lookup(e) for e in events if e.code == wire.PICKUP_NOT_DONE]
    assert failures and all(f is not None and f.reason is Reason.CUSTOMER_UNAVAILABLE for f in failures)
