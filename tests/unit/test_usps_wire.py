"""USPS's wire: every fixture parses, bodies use the documented names, errors land in the right class."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from carriers.base import Address, CarrierEvent, Contact, Item, Parcel, PickupRequest
from carriers.errors import (
    CarrierAuthError,
    CarrierRejected,
    CarrierResponseInvalid,
    CarrierUnavailable,
    NotServiceable,
)
from carriers.sandbox import SandboxBooking, SandboxControl, Scenario
from carriers.usps import sandbox, sandbox_script, wire, wire_tracking
from normalizers.maps import MAPS_DIR, load_map
from normalizers.taxonomy import Reason, Status

FIXTURES = Path(wire.__file__).parent / "fixtures"
EST = timezone(timedelta(hours=-5))
CST = timezone(timedelta(hours=-6))
MULTIPART = "multipart/form-data; boundary=usps-sample-boundary-7f3a"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def make_request() -> PickupRequest:
    return PickupRequest(
        reference="RET-1001",
        pickup_address=Address(line1="350 Fifth Avenue", line2="Apt 4", city="New York", state="NY",
                               postcode="10118-0110", country="US"),
        pickup_contact=Contact(name="Jane Buyer", phone="2125550143", phone_region="US"),
        drop_address=Address(line1="1 Returns Way", city="Memphis", state="TN", postcode="38118", country="US"),
        drop_contact=Contact(name="Acme Returns", phone="9015550100", phone_region="US", email="dc@example.com"),
        parcel=Parcel(weight_g=800, length_cm=30, width_cm=20, height_cm=12),
        items=(Item(sku="SH-1", name="Shoes", price=Decimal("49.00")),), pickup_date=date(2026, 11, 3))


# -- building -------------------------------------------------------------------------------


def test_token_request_is_form_encoded_client_credentials() -> None:
    fields = parse_qs(wire.build_token("id", "s3cret").decode())
    assert fields == {"grant_type": ["client_credentials"], "client_id": ["id"], "client_secret": ["s3cret"],
                      "scope": ["labels pickup tracking payments"]}


def test_payment_authorization_names_owner_and_payer() -> None:
    body = wire.build_payment_authorization(crid="1", mid="902", manifest_mid="", account_type="EPS",
                                            account_number="100")
    owner, payer = body["roles"]
    assert owner == {"roleName": "LABEL_OWNER", "CRID": "1", "MID": "902", "manifestMID": "902",
                     "accountType": "EPS", "accountNumber": "100"}
    assert payer["roleName"] == "PAYER" and "manifestMID" not in payer


def test_return_label_goes_from_consumer_to_warehouse_in_pounds_and_inches() -> None:
    body = wire.build_return_label(make_request(), mail_class="USPS_GROUND_ADVANTAGE_RETURN_SERVICE",
                                   rate_indicator="SP", processing_category="MACHINABLE")
    assert body["imageInfo"] == {"imageType": "PDF", "labelType": "4X6LABEL", "receiptOption": "NONE"}
    assert body["fromAddress"] == {"streetAddress": "350 Fifth Avenue", "city": "New York", "state": "NY",
                                   "ZIPCode": "10118", "firstName": "Jane", "lastName": "Buyer",
                                   "secondaryAddress": "Apt 4", "ZIPPlus4": "0110", "phone": "2125550143"}
    assert body["toAddress"]["firm"] == "Acme Returns" and body["toAddress"]["email"] == "dc@example.com"
    package = body["packageDescription"]
    assert package["mailClass"] == "USPS_GROUND_ADVANTAGE_RETURN_SERVICE" and package["rateIndicator"] == "SP"
    assert (package["weightUOM"], package["weight"]) == ("lb", 1.76)
    assert (package["dimensionsUOM"], package["length"], package["width"], package["height"]) == ("in", 11.8, 7.9, 4.7)
    assert package["customerReference"] == [{"referenceNumber": "RET-1001"}]


def test_pickup_body_is_one_returns_package() -> None:
    body = wire.build_pickup(make_request(), pickup_date="2026-11-03", package_location="FRONT_DOOR")
    assert body["pickupDate"] == "2026-11-03"
    assert body["pickupAddress"]["address"] == {"streetAddress": "350 Fifth Avenue", "city": "New York",
                                                "state": "NY", "ZIPCode": "10118", "secondaryAddress": "Apt 4",
                                                "ZIPPlus4": "0110"}
    assert body["pickupAddress"]["contact"] == [{"phone": "2125550143"}]
    assert body["packages"] == [{"packageType": "RETURNS", "packageCount": 1}]
    assert body["pickupLocation"] == {"packageLocation": "FRONT_DOOR", "specialInstructions": "Return RET-1001"}


def test_idempotency_key_is_stable_per_reference() -> None:
    assert wire.idempotency_key("RET-1") == wire.idempotency_key("RET-1") != wire.idempotency_key("RET-2")
    assert len(wire.idempotency_key("RET-1")) == 36


# -- parsing --------------------------------------------------------------------------------


def test_token_and_payment_answers() -> None:
    assert wire.parse_token(fixture("token_success.json")) == ("eyJFAKE.TOKEN.sandbox", 28800.0)
    assert wire.parse_payment_token(fixture("payment_authorization.json")) == "eyJFAKE.PAYMENT.token"
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_token(fixture("token_invalid_client.json"))


def test_multipart_return_label_gives_tracking_number_and_pdf() -> None:
    booking = wire.parse_return_label(fixture("return_label_success.multipart"), MULTIPART)
    assert booking.awb == "9205090100000000000001" and booking.carrier == "usps"
    assert booking.label_pdf is not None and booking.label_pdf.startswith(b"%PDF")
    assert booking.label_fields["zone"] == "05" and booking.label_fields["postage"] == "7.45"


def test_label_answer_that_is_not_multipart_is_invalid() -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_return_label(b'{"success": true', "application/json")
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_return_label(b"garbage", MULTIPART)


@pytest.mark.parametrize(("status", "name", "error"), [
    (401, "token_invalid_client.json", wire.TokenRejected),
    (403, "tracking_not_found.json", CarrierAuthError),
    (400, "pickup_not_available.json", NotServiceable),
    (404, "tracking_not_found.json", CarrierRejected),
    (503, "tracking_not_found.json", CarrierUnavailable),
])
def test_errors_land_in_their_class(status: int, name: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        wire.check_http(status, fixture(name))


def test_quota_429_carries_retry_after_and_the_message() -> None:
    with pytest.raises(CarrierUnavailable) as caught:
        wire.check_http(429, fixture("error_quota_429.json"), "30")
    assert caught.value.retry_after_s == 30.0
    assert "Quota limit exceeded" in wire.error_text(fixture("error_quota_429.json"))
    assert wire.error_text(fixture("token_invalid_client.json")).startswith("invalid_client")


def test_cancel_and_pickup_answers() -> None:
    assert wire.parse_label_cancel(fixture("label_cancel_canceled.json")) == "CANCELED"
    assert wire.parse_label_cancel(fixture("label_cancel_disputed.json")) == "DISPUTED"
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_label_cancel(b'{"status": "MAYBE"}')
    assert wire.parse_pickup(fixture("pickup_create_success.json")) == ("WTC000000001", "2026-11-03")


def test_tracking_is_oldest_first_keeps_offsets_and_reads_the_pickup_leg() -> None:
    events = wire_tracking.parse_tracking(fixture("tracking_return_lifecycle.json"))
    assert [(e.code_type, e.code) for e in events][:5] == [
        ("pickup", "GX"), ("pickup", "OF"), ("pickup", "56"), ("pickup", "OF"), ("", "03")]
    assert (events[-2].code_type, events[-2].code) == ("", "OF")
    assert events[0].occurred_at == datetime(2026, 11, 1, 23, 30, tzinfo=EST)
    assert events[-1].occurred_at == datetime(2026, 11, 6, 0, 30, tzinfo=CST)
    assert events[-1].location == "MEMPHIS, TN, 38118"


def test_unknown_number_is_no_events() -> None:
    assert wire_tracking.parse_tracking(fixture("tracking_not_found.json")) == []


def test_event_time_falls_back_to_gmt_and_refuses_naive() -> None:
    assert wire_tracking.parse_event_time("", None, "2024-11-22T18:58:40Z") == datetime(2024, 11, 22, 18, 58, 40,
                                                                                        tzinfo=UTC)
    with pytest.raises(CarrierResponseInvalid):
        wire_tracking.parse_event_time("2024-11-22T13:58:00", None, None)


def test_event_without_code_stays_outside_the_pickup_leg() -> None:
    body = json.loads(fixture("tracking_return_lifecycle.json"))
    body["trackingEvents"][-1].pop("eventCode")
    events = wire_tracking.parse_tracking(json.dumps(body).encode())
    assert (events[0].code_type, events[0].code) == ("event", "Shipping Label Created, USPS Awaiting Item")
    assert events[1].code_type == "pickup"


# -- fixtures and map -----------------------------------------------------------------------


def test_every_fixture_has_a_source() -> None:
    sources = (FIXTURES / "SOURCES.md").read_text()
    missing = [p.name for p in FIXTURES.iterdir() if p.name != "SOURCES.md" and f"`{p.name}`" not in sources]
    assert not missing, f"fixtures without a source in SOURCES.md: {missing}"


def test_every_fixture_event_has_a_meaning() -> None:
    status_map = load_map(MAPS_DIR / "usps.yaml")
    events = wire_tracking.parse_tracking(fixture("tracking_return_lifecycle.json"))
    assert not [e.raw_code for e in events if status_map.lookup(e) is None]


def _sandbox_events(scenario: Scenario | None, cancel: bool = False) -> list[CarrierEvent]:
    control = SandboxControl()
    request = wire.build_return_label(make_request(), mail_class="X", rate_indicator="SP",
                                      processing_category="MACHINABLE")
    booking = SandboxBooking(reference="RET-1", awb="9205090100000000000001", booked_at=control.clock.now(),
                             script=sandbox_script.lifecycle(scenario), request=request)
    if cancel:
        booking.interrupt(control.clock.now(), sandbox_script.cancelled())
    control.advance(200 * 3600)
    events = [sandbox._event(booking, at, dict(step.scan)) for at, step in reversed(booking.scans(control.clock.now()))]
    raw = json.dumps({"trackingNumber": booking.awb, "trackingEvents": events}).encode()
    return wire_tracking.parse_tracking(raw)


@pytest.mark.parametrize("reason_code", [None, *sorted(set(sandbox_script.EVENT_TYPES) & wire_tracking.PICKUP_LEG_CODES
                                                       - {"GX", "OF", "44"})])
def test_every_code_the_sandbox_emits_is_mapped(reason_code: str | None) -> None:
    status_map = load_map(MAPS_DIR / "usps.yaml")
    scenario = Scenario("pickup_failed", params={"reason_code": reason_code}) if reason_code else None
    for events in (_sandbox_events(scenario), _sandbox_events(None, cancel=True)):
        assert not [e.raw_code for e in events if status_map.lookup(e) is None]


@pytest.mark.parametrize(("code_type", "code", "status", "reason"), [
    ("pickup", "OF", Status.OUT_FOR_PICKUP, None),
    ("", "OF", Status.OUT_FOR_DELIVERY, None),
    ("pickup", "56", Status.PICKUP_FAILED, Reason.CUSTOMER_UNAVAILABLE),
    ("", "56", Status.DELIVERY_FAILED, Reason.CUSTOMER_UNAVAILABLE),
    ("pickup", "44", Status.CANCELLED, Reason.CANCELLED_BY_MERCHANT),
    ("", "44", Status.RETURNED_TO_SENDER, Reason.CANCELLED_BY_MERCHANT),
    ("pickup", "GX", Status.CREATED, None),
    ("", "03", Status.PICKED_UP, None),
])
def test_map_scopes_codes_by_leg(code_type: str, code: str, status: Status, reason: Reason | None) -> None:
    event = CarrierEvent(carrier="usps", awb="1", code=code, code_type=code_type,
                         occurred_at=datetime(2026, 11, 3, tzinfo=UTC))
    entry = load_map(MAPS_DIR / "usps.yaml").lookup(event)
    assert entry is not None and (entry.status, entry.reason) == (status, reason)


@pytest.mark.parametrize("code", ["43", "DX"])
def test_ambiguous_codes_stay_unmapped(code: str) -> None:
    event = CarrierEvent(carrier="usps", awb="1", code=code, occurred_at=datetime(2026, 11, 3, tzinfo=UTC))
    assert load_map(MAPS_DIR / "usps.yaml").lookup(event) is None


def test_a_held_pickup_moves_to_another_day_with_fixed_contact_or_address() -> None:
    held = wire.build_pickup(make_request(), pickup_date="2026-11-03", package_location="FRONT_DOOR")
    moved = wire.moved_pickup(held, pickup_date="2026-11-05")
    assert moved == held | {"pickupDate": "2026-11-05"}
    phone = wire.moved_pickup(held, pickup_date="2026-11-05",
                              contact=Contact(name="Ann Lee", phone="2125550199", phone_region="US"))
    assert phone["pickupAddress"]["contact"] == [{"phone": "2125550199"}]
    assert phone["pickupAddress"]["address"] == held["pickupAddress"]["address"]
    place = Address(line1="1 Main St", city="Albany", state="NY", postcode="12207", country="US")
    assert wire.moved_pickup(held, pickup_date="2026-11-05", place=place)["pickupAddress"]["address"] == \
        {"streetAddress": "1 Main St", "city": "Albany", "state": "NY", "ZIPCode": "12207"}


def test_the_held_pickup_is_read_from_the_echo_or_the_top_level() -> None:
    body = {"pickupDate": "2026-11-03", "estimatedWeight": 1.8}
    spec = json.dumps({"confirmationNumber": "WTC1", "carrierPickupRequest": body}).encode()
    usposex = json.dumps({"confirmationNumber": "WTC1", **body}).encode()
    assert wire.parse_pickup_request(spec) == body == wire.parse_pickup_request(usposex)
