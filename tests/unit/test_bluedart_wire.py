"""Blue Dart's wire: every fixture parses, bodies carry the documented fields, errors land in the right class."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from carriers.base import Address, CarrierEvent, Contact, Item, Parcel, PickupRequest
from carriers.bluedart import sandbox_script, wire
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
PROFILE = wire.profile("BLR00001", "key")
ACCOUNT = wire.Account(customer_code="123456", pickup_time="1600")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def make_request(reference: str = "RET-1001", *, line1: str = "12 MG Road", line2: str = "Flat 4") -> PickupRequest:
    return PickupRequest(
        reference=reference,
        pickup_address=Address(line1=line1, line2=line2, city="Bengaluru", state="Karnataka", postcode="560001"),
        pickup_contact=Contact(name="Asha R", phone="+91 98000 00000", email="asha@example.com"),
        drop_address=Address(line1="Plot 5, Logistics Park", city="Bhiwandi", state="Maharashtra",
                             postcode="421302"),
        drop_contact=Contact(name="Acme Returns", phone="9800000001"),
        parcel=Parcel(weight_g=800, length_cm=30, width_cm=20, height_cm=12.5),
        items=(Item(sku="SH-1", name="Shoes", quantity=2, price=Decimal("749.50")),),
        reason="size issue",
    )


def build(request: PickupRequest | None = None) -> dict[str, object]:
    return wire.build_waybill(request or make_request(), account_profile=PROFILE, account=ACCOUNT,
                              origin_area="BLR", pickup_date=date(2026, 11, 3))


# -- building -------------------------------------------------------------------------------


def test_waybill_is_a_reverse_pickup_with_the_customer_as_shipper() -> None:
    body = build()
    assert body["Profile"] == {"LoginID": "BLR00001", "LicenceKey": "key", "Api_type": "S"}
    request = body["Request"]
    assert isinstance(request, dict)
    shipper, consignee, back = request["Shipper"], request["Consignee"], request["Returnadds"]
    assert (shipper["CustomerName"], shipper["CustomerPincode"], shipper["CustomerMobile"]) == (
        "Asha R", "560001", "9800000000")
    assert (shipper["CustomerCode"], shipper["OriginArea"], shipper["IsToPayCustomer"]) == ("123456", "BLR", True)
    assert shipper["CustomerAddress1"] == "12 MG Road, Flat 4, Bengaluru"
    assert shipper["CustomerEmailID"] == "asha@example.com"
    assert (consignee["ConsigneeName"], consignee["ConsigneePincode"]) == ("Acme Returns", "421302")
    assert (back["ReturnPincode"], back["ReturnMobile"], back["ReturnContact"]) == (
        "421302", "9800000001", "Acme Returns")
    services = request["Services"]
    assert services["IsReversePickup"] is True and services["RegisterPickup"] is True
    assert services["PDFOutputNotRequired"] is False
    assert (services["CreditReferenceNo"], services["ActualWeight"], services["DeclaredValue"]) == (
        "RET-1001", 0.8, 1499.0)
    assert services["Dimensions"] == [{"Length": 30, "Breadth": 20, "Height": 12.5, "Count": 1}]
    assert (services["PickupDate"], services["PickupTime"]) == ("/Date(1793644200000)/", "1600")
    assert (services["ProductCode"], services["SubProductCode"], services["CollectableAmount"]) == ("A", "P", 0)


def test_address_lines_fit_thirty_characters() -> None:
    address = Address(line1="Flat 402, Prestige Shantiniketan Tower B", line2="Whitefield Main Road",
                      city="Bengaluru", postcode="560066")
    # With the city it needs four lines, so the city (implied by the PIN) is dropped.
    assert wire.address_lines(address) == ["Flat 402, Prestige", "Shantiniketan Tower B,", "Whitefield Main Road"]
    crowded = Address(line1="Flat402,PrestigeShantiniketanTowerB", line2="WhitefieldMainRoad,Hoodi",
                      city="Bengaluru", postcode="560066")
    lines = wire.address_lines(crowded)
    assert len(lines) == 3 and all(len(line) <= 30 for line in lines)
    assert "".join(lines).replace(" ", "") == "Flat402,PrestigeShantiniketanTowerB,WhitefieldMainRoad,Hoodi"


def test_too_long_address_or_reference_is_refused() -> None:
    with pytest.raises(CarrierRejected):
        build(make_request(line1="x" * 29 + " " + "y" * 29 + " " + "z" * 29, line2="and more"))
    with pytest.raises(CarrierRejected):
        build(make_request(reference="R" * 21))


def test_other_bodies() -> None:
    assert wire.build_finder("560001", PROFILE) == {"pinCode": "560001", "profile": PROFILE}
    assert wire.build_cancel("695", PROFILE) == {"Request": {"AWBNo": "695"}, "Profile": PROFILE}
    body = wire.build_register_pickup("695", date(2026, 11, 6), account_profile=PROFILE, account=ACCOUNT,
                                      office_close_time="1800", contact=Contact(name="Asha", phone="9800000002"),
                                      address=Address(line1="14 MG Road", city="Bengaluru", postcode="560001"),
                                      area_code="BLR")
    request = body["request"]
    assert body["profile"] == PROFILE
    assert (request["AWBNo"], request["IsReversePickup"], request["SubProducts"]) == (["695"], True, ["E-Tailing"])
    assert (request["ShipmentPickupDate"], request["ShipmentPickupTime"]) == ("/Date(1793903400000)/", "1600")
    assert (request["CustomerPincode"], request["AreaCode"], request["MobileTelNo"]) == ("560001", "BLR", "9800000002")
    params = wire.track_params(["1", "2"], login_id="L", licence_key="K", by_reference=True)
    assert params == {"handler": "tnt", "action": "custawbquery", "loginid": "L", "lickey": "K", "awb": "ref",
                      "numbers": "1,2", "format": "xml", "verno": "1", "scan": "1"}


def test_ms_dates_round_trip_in_ist() -> None:
    assert wire.ms_date(date(2026, 11, 3)) == "/Date(1793644200000)/"
    parsed = wire.parse_ms_date("/Date(1793644200000+0530)/")
    assert parsed == datetime(2026, 11, 3, tzinfo=IST) and parsed.utcoffset() == timedelta(hours=5, minutes=30)
    assert wire.parse_ms_date("yesterday") is None


# -- parsing --------------------------------------------------------------------------------


def test_login_and_finder() -> None:
    assert wire.parse_token(fixture("login_success.json")).startswith("eyJ")
    assert wire.parse_finder(fixture("finder_serviceable.json")) == wire.PincodeServices("BLR", True, True)
    assert wire.parse_finder(fixture("finder_not_serviceable.json")) is None
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_token(b'{"token": "x"}')


def test_waybill_success_carries_label_and_pickup_token() -> None:
    booking = wire.parse_waybill(fixture("waybill_success.json"))
    assert (booking.carrier, booking.awb, booking.carrier_reference) == ("bluedart", "69500000017", "0004711")
    assert booking.label_pdf is not None and booking.label_pdf.startswith(b"%PDF")
    assert booking.label_fields == {"DestinationArea": "BWD", "DestinationLocation": "BHIWANDI",
                                    "ClusterCode": "BWD", "TokenNumber": "0004711"}
    assert booking.pickup_window_start == datetime(2026, 11, 3, tzinfo=IST)


def test_waybill_label_as_byte_list() -> None:
    body = json.loads(fixture("waybill_success.json"))
    body["GenerateWayBillResult"]["AWBPrintContent"] = list(b"%PDF-1.4")
    assert wire.parse_waybill(json.dumps(body).encode()).label_pdf == b"%PDF-1.4"


@pytest.mark.parametrize(("name", "error"), [
    ("waybill_duplicate.json", wire.DuplicateReference),
    ("waybill_not_serviceable.json", NotServiceable),
    ("waybill_invalid_licence.json", CarrierAuthError),
    ("waybill_object_reference.json", CarrierRejected),
])
def test_waybill_failures_raise_by_class(name: str, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        wire.parse_waybill(fixture(name))
    if error is not wire.DuplicateReference:
        assert not isinstance(caught.value, wire.DuplicateReference)


@pytest.mark.parametrize("raw", [b"", b'{"GenerateWayBillResult": {"AWB', b"[]", b"{}", b"<html>502</html>"])
def test_unparseable_waybill_is_invalid(raw: bytes) -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_waybill(raw)


def test_cancel_and_register_pickup() -> None:
    wire.parse_cancel(fixture("cancel_success.json"))
    wire.parse_cancel(fixture("cancel_already_cancelled.json"))
    with pytest.raises(CarrierRejected):
        wire.parse_cancel(fixture("cancel_after_pickup.json"))
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_cancel(b"{}")
    assert wire.parse_register_pickup(fixture("register_pickup_success.json")) == "0004712"


def test_tracking_lifecycle_in_order_with_ist_kept() -> None:
    events = sorted(wire.parse_tracking(fixture("track_rvp_lifecycle.xml")), key=lambda e: e.occurred_at)
    assert [e.raw_code for e in events] == [
        "S/002/PU", "T/013/PU", "S/002/PU", "S/015/PU", "S/001/UD", "S/003/UD", "S/011/UD", "S/027/UD",
        "S/001/UD", "S/002/UD", "T/000/DL"]
    first = events[0]
    assert first.occurred_at == datetime(2026, 11, 3, 10, 0, tzinfo=IST)
    assert first.occurred_at.utcoffset() == timedelta(hours=5, minutes=30)
    assert (events[1].description, events[1].location) == ("CONSIGNEE NOT AVAILABLE", "BLR")
    assert {e.awb for e in events} == {"69500000017"}


def test_tracking_not_found_is_no_events() -> None:
    assert wire.parse_tracking(fixture("track_not_found.xml")) == []


@pytest.mark.parametrize("raw", [
    b"", b"<ShipmentData><Shipment", b"<Other/>", b'{"ShipmentData": []}',
    b"<ShipmentData><Shipment WaybillNo='1'><Scans><ScanDetail><ScanCode>001</ScanCode>"
    b"<ScanDate>yesterday</ScanDate><ScanTime>10:00</ScanTime></ScanDetail></Scans></Shipment></ShipmentData>",
])
def test_tracking_garbage_is_invalid(raw: bytes) -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_tracking(raw)


def test_tracking_refuses_entities() -> None:
    raw = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b"<ShipmentData><Shipment WaybillNo='1'><Scans><ScanDetail><ScanCode>&x;</ScanCode>"
           b"<ScanDate>03-Nov-2026</ScanDate><ScanTime>10:00</ScanTime></ScanDetail></Scans></Shipment>"
           b"</ShipmentData>")
    with pytest.raises(CarrierResponseInvalid):  # the entity is not resolved, so the code is empty
        wire.parse_tracking(raw)


def test_reference_lookup() -> None:
    assert wire.parse_reference_lookup(fixture("track_rvp_lifecycle.xml"), "RET-1001") == "69500000017"
    assert wire.parse_reference_lookup(fixture("track_rvp_lifecycle.xml"), "RET-9") is None
    assert wire.parse_reference_lookup(fixture("track_not_found.xml"), "RET-1001") is None


def test_push_lite_and_plus() -> None:
    lite = wire.parse_webhook(fixture("push_lite.json"))
    assert [e.raw_code for e in lite] == ["S/002/PU", "T/013/PU"]
    assert lite[1].occurred_at == datetime(2026, 11, 3, 12, 0, tzinfo=IST)
    assert lite[1].remarks == "customer not at home"
    (plus,) = wire.parse_webhook(fixture("push_plus.json"))
    assert (plus.raw_code, plus.location) == ("T/000/DL", "BWD")
    assert plus.occurred_at == datetime(2026, 11, 6, 12, 0, tzinfo=IST)


@pytest.mark.parametrize("raw", [b"{", b"{}", b'{"statustracking": [{"Shipment": {}}]}',
                                 b'{"statustracking": [{"Shipment": {"WaybillNo": "1", "Scans": {"ScanDetail": 3}}}]}'])
def test_push_garbage_is_invalid(raw: bytes) -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_webhook(raw)


def test_scan_times_in_every_documented_format() -> None:
    expected = datetime(2026, 11, 3, 14, 48, tzinfo=IST)
    assert wire.parse_scan_time("03-Nov-2026", "14:48") == expected
    assert wire.parse_scan_time("03-11-2026", "1448", "IST") == expected
    assert wire.parse_scan_time("03 November 2026", "14:48") == expected
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_scan_time("03-11-2026", "1448", "PST")


@pytest.mark.parametrize(("status", "body", "error"), [
    (401, b"", CarrierAuthError), (403, b"", CarrierAuthError), (429, b"", CarrierUnavailable),
    (503, b"", CarrierUnavailable), (400, b"", CarrierRejected),
])
def test_http_status_classes(status: int, body: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        wire.check_http(status, body, "7")


def test_400_with_error_response_is_left_to_the_parser() -> None:
    wire.check_http(400, fixture("waybill_duplicate.json"))
    wire.check_http(200, b"{}")


def test_429_keeps_retry_after() -> None:
    with pytest.raises(CarrierUnavailable) as caught:
        wire.check_http(429, b"", "7")
    assert caught.value.retry_after_s == 7.0


# -- fixtures and map -----------------------------------------------------------------------


def test_every_fixture_has_a_source() -> None:
    sources = (FIXTURES / "SOURCES.md").read_text()
    missing = [p.name for p in FIXTURES.iterdir() if p.name != "SOURCES.md" and f"`{p.name}`" not in sources]
    assert missing == []


def _event(scan: dict[str, str]) -> CarrierEvent:
    return CarrierEvent(carrier="bluedart", awb="1", code=scan["ScanCode"], code_type=scan["ScanGroupType"],
                        detail_code=scan["ScanType"], occurred_at=datetime(2026, 11, 3, tzinfo=IST))


def _sandbox_scans() -> list[dict[str, str]]:
    place = ("X", "XXX")
    scenarios = [None] + [Scenario("pickup_failed", params={"reason_code": c}) for c in sandbox_script.FAILURE_TEXTS]
    scans = [dict(s.scan) for sc in scenarios for s in sandbox_script.lifecycle(sc, place, place, place)]
    scans += [dict(s.scan) for s in sandbox_script.rescheduled(timedelta(hours=1), place, place, place)]
    return [*scans, sandbox_script.cancelled(*place)]


def test_every_code_the_sandbox_emits_is_mapped() -> None:
    status_map = load_map(MAPS_DIR / "bluedart.yaml")
    unmapped = {_event(s).raw_code for s in _sandbox_scans() if status_map.lookup(_event(s)) is None}
    assert unmapped == set()


def test_every_fixture_event_is_mapped() -> None:
    status_map = load_map(MAPS_DIR / "bluedart.yaml")
    events = (wire.parse_tracking(fixture("track_rvp_lifecycle.xml")) + wire.parse_tracking(fixture(
        "track_cancelled.xml")) + wire.parse_webhook(fixture("push_lite.json")) + wire.parse_webhook(
        fixture("push_plus.json")))
    assert [e.raw_code for e in events if status_map.lookup(e) is None] == []


@pytest.mark.parametrize(("raw_code", "status", "reason"), [
    ("S/002/PU", Status.OUT_FOR_PICKUP, None),
    ("S/002/UD", Status.OUT_FOR_DELIVERY, None),
    ("S/015/PU", Status.PICKED_UP, None),
    ("T/013/PU", Status.PICKUP_FAILED, Reason.CUSTOMER_UNAVAILABLE),
    ("T/013/UD", Status.DELIVERY_FAILED, Reason.CUSTOMER_UNAVAILABLE),
    ("T/000/DL", Status.DELIVERED, None),
    ("T/098/DL", Status.CANCELLED, None),
    ("T/188/RT", Status.RETURNED_TO_SENDER, None),
    ("T/021/UD", Status.EXCEPTION, Reason.LOST),
    ("S/024/UD", Status.ON_HOLD, None),
    ("T/024/UD", Status.ON_HOLD, None),
    ("T/308/UD", Status.DELIVERY_FAILED, Reason.ENTRY_RESTRICTED),
    ("T/305/UD", Status.IN_TRANSIT, Reason.CARRIER_DELAY),
])
def test_status_map_scopes_codes_by_group_and_leg(raw_code: str, status: Status, reason: Reason | None) -> None:
    group, code, scan_type = raw_code.split("/")
    entry = load_map(MAPS_DIR / "bluedart.yaml").lookup(
        _event({"ScanGroupType": group, "ScanCode": code, "ScanType": scan_type}))
    assert entry is not None
    assert (entry.status, entry.reason) == (status, reason)


def test_codes_left_out_stay_unknown() -> None:
    status_map = load_map(MAPS_DIR / "bluedart.yaml")
    assert status_map.lookup(_event({"ScanGroupType": "T", "ScanCode": "120", "ScanType": "UD"})) is None
