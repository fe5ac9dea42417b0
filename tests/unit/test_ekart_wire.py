"""Ekart's wire: every fixture parses, bodies are built as documented, errors land in the right class."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from carriers.base import Address, CarrierEvent, Contact, Item, Parcel, PickupRequest, QcAttributes
from carriers.ekart import sandbox, sandbox_script, wire
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
STATUS_MAP = load_map(MAPS_DIR / "ekart.yaml")
SELLER = wire.Seller("Acme", "Plot 5, Bhiwandi", "27ABCDE1234F1Z5")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def make_request(qc: QcAttributes | None = None, warehouse: str = "") -> PickupRequest:
    return PickupRequest(
        reference="RET-1001",
        pickup_address=Address(line1="12 MG Road", line2="Flat 4", city="Bengaluru", state="KA", postcode="560001"),
        pickup_contact=Contact(name="Asha R", phone="+91 98000 00000"),
        drop_address=Address(line1="Plot 5", city="Bhiwandi", state="MH", postcode="421302"),
        drop_contact=Contact(name="Acme WH", phone="9800000001"),
        parcel=Parcel(weight_g=800, length_cm=30, width_cm=20, height_cm=12.5),
        items=(Item(sku="SH-1", name="Shoes", price=Decimal("1499.00"), category="Footwear", qc=qc),),
        reason="size issue", warehouse=warehouse,
    )


# -- building -------------------------------------------------------------------------------


def test_create_body_is_a_documented_reverse_shipment() -> None:
    body = wire.build_create(make_request(), seller=SELLER, invoice_date=date(2026, 11, 2))
    assert (body["payment_mode"], body["return_reason"]) == ("Pickup", "size issue")
    assert (body["order_number"], body["invoice_date"]) == ("RET-1001", "2026-11-02")
    assert (body["seller_name"], body["seller_gst_tin"]) == ("Acme", "27ABCDE1234F1Z5")
    assert (body["consignee_name"], body["consignee_alternate_phone"]) == ("Asha R", "9800000000")
    # Reverse semantics: drop_location is the customer, pickup_location the seller.
    drop, pickup = body["drop_location"], body["pickup_location"]
    assert (drop["name"], drop["pin"], drop["phone"], drop["address"]) == (
        "Asha R", 560001, 9800000000, "12 MG Road, Flat 4")
    assert (pickup["name"], pickup["pin"]) == ("Acme WH", 421302)
    assert body["return_location"] == pickup
    assert (body["weight"], body["length"], body["height"], body["width"]) == (800, 30, 13, 20)
    assert (body["total_amount"], body["taxable_amount"], body["commodity_value"]) == (1499.0, 1499.0, "1499.00")
    assert (body["cod_amount"], body["tax_value"], body["quantity"]) == (0, 0, 1)
    assert "qc_details" not in body


def test_create_body_uses_the_warehouse_alias_and_qc_block() -> None:
    qc = QcAttributes(brand="Acme", color="Red", size="9", ean="8901234567890", image_urls=("https://x.test/1.jpg",))
    body = wire.build_create(make_request(qc=qc, warehouse="ACME-BHW"), seller=SELLER, invoice_date=date(2026, 11, 2))
    assert body["pickup_location"] == body["return_location"] == {"name": "ACME-BHW"}
    assert body["qc_details"] == {"qc_shipment": True, "product_name": "Shoes", "product_sku": "SH-1",
                                  "product_color": "Red", "product_size": "9", "brand_name": "Acme",
                                  "product_category": "Footwear", "ean_barcode": "8901234567890",
                                  "product_images": ["https://x.test/1.jpg"]}


def test_label_reattempt_and_token_requests() -> None:
    assert wire.build_label(["A", "B", "A"]) == {"ids": ["A", "B"]}
    with pytest.raises(ValueError):
        wire.build_label([str(i) for i in range(101)])
    body = wire.build_reattempt("500999A1", date(2026, 11, 5), Contact(name="Asha", phone="9800000002"))
    assert body == {"action": "Re-Attempt", "wbn": "500999A1", "phone": "9800000002",
                    "date": int(datetime(2026, 11, 5, 10, 0, tzinfo=IST).timestamp() * 1000)}
    assert wire.build_token_request("u", "p") == {"username": "u", "password": "p"}


def test_signature_is_hex_hmac_sha256() -> None:
    # RFC 4231 test case 2.
    assert wire.signature(b"what do ya want for nothing?", "Jefe") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


# -- parsing --------------------------------------------------------------------------------


def test_token_and_create() -> None:
    assert wire.parse_token(fixture("token.json"))[1] == 86399.0
    booking = wire.parse_create(fixture("create_success.json"))
    assert (booking.carrier, booking.awb, booking.carrier_reference) == ("ekart", "500999A0000017", "RET-1001")
    assert booking.label_fields == {"wbn": "FMPR0000017", "vendor": "EKART"}
    # A repeated order number answers with the shipment already booked.
    assert wire.parse_create(fixture("create_duplicate.json")).awb == "500999A0000017"
    with pytest.raises(CarrierRejected):
        wire.parse_create(b'{"status": false, "remark": "invoice_date is invalid"}')
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_token(b'{"access_token": "x"}')


@pytest.mark.parametrize(("status", "name", "error"), [
    (400, "create_fail_not_serviceable.json", NotServiceable),
    (400, "create_fail_missing_fields.json", CarrierRejected),
    (401, "error_unauthorized.json", CarrierAuthError),
    (404, "track_not_found.json", CarrierRejected),
])
def test_error_bodies_raise_by_class(status: int, name: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        wire.check_http(status, fixture(name))


@pytest.mark.parametrize(("status", "retry_after"), [(429, "7"), (503, None), (500, None)])
def test_transient_statuses(status: int, retry_after: str | None) -> None:
    with pytest.raises(CarrierUnavailable) as caught:
        wire.check_http(status, b"<html>busy</html>", retry_after)
    assert caught.value.retry_after_s == (7.0 if retry_after else None)
    wire.check_http(200, b"{}")


@pytest.mark.parametrize("raw", [b"", b'{"status": tru', b"[]", b'{"remark": "x"}'])
def test_unparseable_create_is_invalid(raw: bytes) -> None:
    with pytest.raises(CarrierResponseInvalid):
        wire.parse_create(raw)


def test_cancel_ndr_label_and_serviceability() -> None:
    wire.parse_cancel(fixture("cancel_success.json"))
    wire.parse_cancel(fixture("cancel_already_cancelled.json"))
    with pytest.raises(CarrierRejected):
        wire.parse_cancel(fixture("cancel_after_pickup.json"))
    wire.parse_ndr_action(fixture("ndr_accepted.json"))
    with pytest.raises(CarrierRejected):
        wire.parse_ndr_action(fixture("ndr_refused.json"))
    assert wire.parse_label(b"%PDF-1.4 ...") == b"%PDF-1.4 ..."
    assert wire.parse_label(fixture("track_not_found.json")) is None
    assert wire.parse_serviceability(fixture("serviceability_ok.json")) == wire.Pincode("560001", True, True)
    assert wire.parse_serviceability(fixture("serviceability_not_serviceable.json")) is None


def test_tracking_lifecycle_in_order_with_ist_offset_kept() -> None:
    events = wire.parse_tracking(fixture("track_rvp_lifecycle.json"))
    assert [(e.code, e.detail_code) for e in events] == [
        ("Order Placed", ""), ("Pickup Scheduled", ""), ("Out for Pickup", ""), ("Not Picked", "Customer Unavailable"),
        ("Out for Pickup", ""), ("Picked Up", ""), ("In Transit", ""), ("In Transit", ""), ("Out for Delivery", ""),
        ("Delivered", ""),
    ]
    assert {e.awb for e in events} == {"500999A0000017"}
    assert events[0].occurred_at == datetime(2026, 11, 2, 10, 0, 4, tzinfo=IST)
    assert events[0].occurred_at.utcoffset() == timedelta(hours=5, minutes=30)
    assert events[3].location == "Bengaluru Hub"


def test_tracking_unknown_id_is_no_events_and_garbage_is_invalid() -> None:
    assert wire.parse_tracking(fixture("track_not_found.json")) == []
    for raw in (b"{", b'{"_id": "1", "track": []}', b'{"_id": "1", "track": {"status": "Delivered", "ctime": "x"}}'):
        with pytest.raises(CarrierResponseInvalid):
            wire.parse_tracking(raw)


def test_webhooks() -> None:
    (event,) = wire.parse_webhook(fixture("webhook_track_updated.json"))
    assert (event.awb, event.code, event.detail_code) == ("500999A0000017", "Not Picked", "Customer Unavailable")
    assert event.occurred_at == datetime(2026, 11, 3, 12, 0, 4, tzinfo=IST)
    assert wire.parse_webhook(fixture("webhook_shipment_created.json")) == []


# -- fixtures and map -----------------------------------------------------------------------


def test_every_fixture_has_a_source() -> None:
    sources = (FIXTURES / "SOURCES.md").read_text()
    missing = [p.name for p in FIXTURES.iterdir() if p.name != "SOURCES.md" and f"`{p.name}`" not in sources]
    assert missing == []


def test_status_map_gives_every_fixture_event_a_meaning() -> None:
    events = wire.parse_tracking(fixture("track_rvp_lifecycle.json")) + wire.parse_webhook(
        fixture("webhook_track_updated.json"))
    entries = [STATUS_MAP.lookup(e) for e in events]
    assert None not in entries
    statuses = [e.status for e in entries if e]
    assert statuses[:6] == [Status.CREATED, Status.PICKUP_SCHEDULED, Status.OUT_FOR_PICKUP, Status.PICKUP_FAILED,
                            Status.OUT_FOR_PICKUP, Status.PICKED_UP]
    assert statuses[-2:] == [Status.DELIVERED, Status.PICKUP_FAILED]


@pytest.mark.parametrize(("code", "detail", "status", "reason"), [
    ("Not Picked", "Customer Unavailable", Status.PICKUP_FAILED, Reason.CUSTOMER_UNAVAILABLE),
    ("Undelivered", "Customer Unavailable", Status.DELIVERY_FAILED, Reason.CUSTOMER_UNAVAILABLE),
    ("Not Picked", "OTP Not Received/OTP Mismatch", Status.PICKUP_FAILED, Reason.OTHER),
    ("Undelivered", "On Hold", Status.ON_HOLD, Reason.OTHER),
    ("Pickup Cancelled", "", Status.CANCELLED, None),
    ("Lost", "", Status.EXCEPTION, Reason.LOST),
    ("RTO Delivered", "", Status.RETURNED_TO_SENDER, None),
])
def test_status_map_reasons(code: str, detail: str, status: Status, reason: Reason | None) -> None:
    event = CarrierEvent(carrier="ekart", awb="1", code=code, detail_code=detail,
                         occurred_at=datetime(2026, 11, 2, tzinfo=IST))
    entry = STATUS_MAP.lookup(event)
    assert entry is not None and (entry.status, entry.reason) == (status, reason)


def _sandbox_events(scenario: Scenario | None, *, cancel: bool = False) -> list[CarrierEvent]:
    booked_at = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)
    booking = SandboxBooking(reference="RET-1", awb="500999A1", booked_at=booked_at,
                             script=sandbox_script.lifecycle(scenario, "A", "B", "C"))
    if cancel:
        booking.interrupt(booked_at + timedelta(hours=2), sandbox_script.cancelled("A"))
    body = sandbox.track_json(booking, booked_at + timedelta(days=10))
    return wire.parse_tracking(json.dumps(body).encode())


def test_every_code_the_sandbox_emits_is_mapped() -> None:
    reattempt = SandboxBooking(reference="RET-2", awb="500999A2", booked_at=datetime(2026, 11, 2, tzinfo=UTC),
                               script=sandbox_script.reattempt("A", "B", "C", 24))
    events = (_sandbox_events(None) + _sandbox_events(Scenario("pickup_failed")) + _sandbox_events(None, cancel=True)
              + wire.parse_tracking(json.dumps(sandbox.track_json(reattempt, datetime(2026, 12, 1, tzinfo=UTC)))
                                    .encode()))
    unmapped = [e.raw_code for e in events if STATUS_MAP.lookup(e) is None]
    assert unmapped == []
    failures = [STATUS_MAP.lookup(e) for e in events if e.code == "Not Picked"]
    assert failures and all(f is not None and f.reason is Reason.CUSTOMER_UNAVAILABLE for f in failures)
