"""Xpressbees' wire: every fixture parses, bodies are built as documented, errors land in the right class."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
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
from carriers.xpressbees import sandbox_script, wire
from normalizers.maps import MAPS_DIR, load_map
from normalizers.taxonomy import Reason, Status

FIXTURES = Path(wire.__file__).parent / "fixtures"
IST = timezone(timedelta(hours=5, minutes=30))
STATUS_MAP = load_map(MAPS_DIR / "xpressbees.yaml")


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
        items=(Item(sku="SH-1", name="Shoes", quantity=2, price=Decimal("749.50")),),
        reason="size issue", pickup_date=date(2026, 11, 3),
    )


# -- building -------------------------------------------------------------------------------


def test_manifest_body_uses_documented_fields() -> None:
    body = wire.build_manifest(make_request(), business_account="ACME REVERSE")
    assert (body["AirWayBillNO"], body["OrderNo"], body["BusinessAccountName"]) == ("", "RET-1001", "ACME REVERSE")
    assert (body["ProductID"], body["ProductName"], body["Quantity"]) == ("SH-1", "Shoes", "2")
    assert (body["ProductMRP"], body["CollectibleAmount"]) == ("1499.00", "0")
    (pickup,) = body["PickupDetails"]["Addresses"]
    assert pickup == {"Type": "Primary", "Name": "Asha R", "Address": "12 MG Road, Flat 4", "City": "Bengaluru",
                      "State": "Karnataka", "PinCode": "560001", "EmailID": "asha@example.com", "Landmark": ""}
    assert body["PickupDetails"]["ContactDetails"] == [{"Type": "Primary", "PhoneNo": "9800000000",
                                                        "VirtualNumber": ""}]
    assert body["PickupDetails"]["PickupSlotsDate"] == "03-11-2026"
    assert body["DropDetails"]["Addresses"][0]["PinCode"] == "421302"
    assert body["DropDetails"]["ContactDetails"][0]["PhoneNo"] == "9800000001"
    assert body["PackageDetails"] == {
        "Dimensions": {"Length": "30", "Width": "20", "Height": "12.5"},
        "Weight": {"BillableWeight": "1.500", "VolWeight": "1.500", "PhyWeight": "0.800"},
    }


def test_token_track_and_cancel_bodies() -> None:
    assert wire.build_token_request("u", "p", "s") == {"username": "u", "password": "p", "secretkey": "s"}
    assert wire.build_track(["1", "2"], xb_key="K") == {"AWBNo": "1,2", "XBkey": "K"}
    assert wire.build_cancel("1", xb_key="K") == {"XBkey": "K", "AWBNumber": "1",
                                                  "RTOReason": "Cancelled by merchant"}


# -- parsing --------------------------------------------------------------------------------


def test_token() -> None:
    assert wire.parse_token(fixture("token_success.json")).startswith("eyJ")
    with pytest.raises(CarrierAuthError):
        wire.parse_token(fixture("token_failure.json"))
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_token(b"{}")


def test_manifest_success() -> None:
    booking = wire.parse_manifest(fixture("manifest_success.json"), "RET-1001")
    assert (booking.carrier, booking.awb, booking.carrier_reference) == ("xpressbees", "1300000000000017",
                                                                         "RET-1001")


def test_manifest_duplicate_carries_the_first_awb() -> None:
    with pytest.raises(wire.DuplicateOrder) as caught:
        wire.parse_manifest(fixture("manifest_duplicate.json"), "RET-1001")
    assert caught.value.awb == "1300000000000017"


@pytest.mark.parametrize(("name", "error"), [
    ("manifest_fail_non_serviceable.json", NotServiceable),
    ("manifest_fail_bad_account.json", CarrierAuthError),
    ("manifest_fail_bad_phone.json", CarrierRejected),
])
def test_manifest_failures_raise_by_class(name: str, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        wire.parse_manifest(fixture(name), "RET-1001")
    assert not isinstance(caught.value, wire.DuplicateOrder)


@pytest.mark.parametrize("raw", [b"", b'{"AWBNo": "1', b"[]", b'{"AWBNo": "1"}', b"<html>502</html>"])
def test_unparseable_manifest_is_invalid(raw: bytes) -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_manifest(raw, "RET-1001")


def test_tracking_lifecycle_with_ist_offset_kept() -> None:
    events = wire.parse_tracking(fixture("track_rvp_lifecycle.json"))
    ordered = sorted(events, key=lambda e: e.occurred_at)
    assert [(e.code, e.detail_code) for e in ordered] == [
        ("DRC", ""), ("PUC", ""), ("OFP", ""), ("PND", "customer not available"), ("OFP", ""), ("PUD", ""),
        ("PKD", ""), ("IT", ""), ("RAD", ""), ("OFD", ""), ("DLVD", ""),
    ]
    first, failed = ordered[0], ordered[3]
    assert first.occurred_at == datetime(2026, 11, 2, 10, 0, tzinfo=IST)
    assert first.occurred_at.utcoffset() == timedelta(hours=5, minutes=30)
    assert (failed.description, failed.remarks) == ("Customer Not Available", "Re-attempt scheduled")
    assert failed.location == "Koramangala_RVP, Bengaluru"
    assert {e.awb for e in events} == {"1300000000000017"}


def test_tracking_unknown_awb_is_no_events() -> None:
    assert wire.parse_tracking(fixture("track_not_found.json")) == []


def test_tracking_refused_key_is_auth() -> None:
    with pytest.raises(CarrierAuthError):
        wire.parse_tracking(fixture("track_invalid_key.json"))


@pytest.mark.parametrize("raw", [b"{", b"{}", b'[{"AWBNo": "1", "ReturnMessage": "Successful", '
                                 b'"ShipmentSummary": [{"StatusCode": "IT", "StatusDate": "2026-11-02", '
                                 b'"StatusTime": "1000"}]}]'])
def test_tracking_garbage_is_invalid(raw: bytes) -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_tracking(raw)


def test_cancel_responses() -> None:
    wire.parse_cancel(fixture("cancel_success.json"))
    wire.parse_cancel(fixture("cancel_already.json"))
    with pytest.raises(CarrierRejected):
        wire.parse_cancel(fixture("cancel_after_pickup.json"))
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_cancel(b"{}")


@pytest.mark.parametrize(("status", "retry_after", "error"), [
    (401, None, wire.TokenRejected), (403, None, CarrierAuthError), (429, "7", CarrierUnavailable),
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


def _meaning(event: CarrierEvent) -> tuple[Status, Reason | None]:
    entry = STATUS_MAP.lookup(event)
    assert entry is not None, event.raw_code
    return entry.status, entry.reason


def test_status_map_gives_every_fixture_event_a_meaning() -> None:
    events = sorted(wire.parse_tracking(fixture("track_rvp_lifecycle.json")), key=lambda e: e.occurred_at)
    assert [_meaning(e)[0] for e in events][:6] == [
        Status.CREATED, Status.PICKUP_SCHEDULED, Status.OUT_FOR_PICKUP, Status.PICKUP_FAILED,
        Status.OUT_FOR_PICKUP, Status.PICKED_UP]
    assert _meaning(events[3]) == (Status.PICKUP_FAILED, Reason.CUSTOMER_UNAVAILABLE)
    assert _meaning(events[-1]) == (Status.DELIVERED, None)
    undelivered = sorted(wire.parse_tracking(fixture("track_undelivered.json")), key=lambda e: e.occurred_at)
    assert _meaning(undelivered[-1]) == (Status.DELIVERY_FAILED, Reason.CONTACT_UNREACHABLE)


def _sandbox_scans() -> list[dict[str, str]]:
    failed = Scenario("pickup_failed")
    scripts = [sandbox_script.lifecycle(None, "a", "b", "c"), sandbox_script.lifecycle(failed, "a", "b", "c")]
    return [step.scan for script in scripts for step in script] + [sandbox_script.cancelled("a")]


def test_every_code_the_sandbox_emits_is_mapped() -> None:
    for scan in _sandbox_scans():
        event = CarrierEvent(carrier="xpressbees", awb="1", code=scan["StatusCode"],
                             detail_code=wire.reason_key(scan["StatusCode"], scan["Status"]),
                             occurred_at=datetime(2026, 11, 2, tzinfo=IST))
        status, reason = _meaning(event)
        assert status is not Status.UNKNOWN
        if status is Status.PICKUP_FAILED:
            assert reason is not None, scan


@pytest.mark.parametrize(("code", "text", "status", "reason"), [
    ("PND", "Customer  Not Available", Status.PICKUP_FAILED, Reason.CUSTOMER_UNAVAILABLE),
    ("PND", "Something new", Status.PICKUP_FAILED, None),
    ("UD", "ODA (Out Of Delivery Area)", Status.DELIVERY_FAILED, Reason.NOT_SERVICEABLE),
    ("RTD", "RTO Delivered", Status.RETURNED_TO_SENDER, None),
    ("LOST", "Lost", Status.EXCEPTION, Reason.LOST),
])
def test_status_map_reads_reason_texts_by_code(code: str, text: str, status: Status, reason: Reason | None) -> None:
    event = CarrierEvent(carrier="xpressbees", awb="1", code=code, detail_code=wire.reason_key(code, text),
                         occurred_at=datetime(2026, 11, 2, tzinfo=IST))
    assert _meaning(event) == (status, reason)
