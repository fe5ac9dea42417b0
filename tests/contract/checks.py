"""The contract's behavioural checks as plain functions of one `Subject`: an adapter class, its sandbox
app, that app's control and its status map. `test_every_carrier.py` runs them over every registered
carrier; `test_docs_example.py` runs them over the example in docs/examples/acme/.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from types import ModuleType
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from carriers.base import Address, CarrierAdapter, CarrierEvent, Contact, Item, Parcel, PickupRequest, make_adapter
from carriers.errors import CarrierResponseInvalid, CarrierUnavailable
from carriers.sandbox import SandboxControl
from normalizers.engine import normalize
from normalizers.machine import fold
from normalizers.maps import StatusMap
from normalizers.taxonomy import Status, TrackingEvent

WEBHOOK_SECRET = "contract-hook-secret"
FAULT_KINDS = ["timeout", "5xx", "429", "drop", "malformed"]

# Where each carrier picks up in the suite: an Indian lane, or a US one for the cross-border carriers.
LANES: dict[str, tuple[Address, Address]] = {
    "IN": (Address(line1="12 MG Road", city="Bengaluru", state="Karnataka", postcode="560001"),
           Address(line1="Plot 5, Logistics Park", city="Bhiwandi", state="Maharashtra", postcode="421302")),
    "US": (Address(line1="350 Fifth Avenue", city="New York", state="NY", postcode="10118", country="US"),
           Address(line1="1 Returns Way", city="Memphis", state="TN", postcode="38118", country="US")),
}


@dataclass(frozen=True)
class Subject:
    """One carrier under test: `new_adapter(**setting_overrides)` builds a fresh adapter, as a new process would."""

    code: str
    sandbox: ModuleType
    app: web.Application
    control: SandboxControl
    status_map: StatusMap
    new_adapter: Callable[..., CarrierAdapter]


def adapter_factory(cls: Any, sandbox: ModuleType, base_url: str, session: aiohttp.ClientSession,
                    control: SandboxControl) -> Callable[..., CarrierAdapter]:
    """Build adapters of `cls` pointed at a running sandbox, with short timeouts and the contract's secret."""
    def build(**overrides: Any) -> CarrierAdapter:
        fields = sandbox.adapter_settings(base_url.rstrip("/"))
        fields |= {"timeout_s": 2.0, "retries": 2, "webhook_secret": WEBHOOK_SECRET} | overrides
        return make_adapter(cls, cls.settings_model(**fields), session, control.clock)

    return build


def pickup_request(adapter: CarrierAdapter, reference: str) -> PickupRequest:
    country = "IN" if "IN" in adapter.capabilities.countries else sorted(adapter.capabilities.countries)[0]
    pickup, drop = LANES.get(country, LANES["US"])
    region = pickup.country
    return PickupRequest(
        reference=reference, pickup_address=pickup, drop_address=drop,
        pickup_contact=Contact(name="Asha Rao", phone="9800000000" if region == "IN" else "2125550143",
                               phone_region=region),
        drop_contact=Contact(name="Acme Returns", phone="9800000001" if region == "IN" else "9015550100",
                             phone_region=region),
        parcel=Parcel(weight_g=800, length_cm=30, width_cm=20, height_cm=12),
        items=(Item(sku="SH-42", name="Running shoes", price=Decimal("49.00"), category="footwear"),),
        reason="size too small")


async def tracked(adapter: CarrierAdapter, awb: str) -> list[CarrierEvent]:
    return [e for raw in await adapter.track([awb]) for e in adapter.parse_tracking(raw)]


def unified(s: Subject, events: list[CarrierEvent]) -> list[TrackingEvent]:
    return [normalize(e, s.status_map) for e in events]


async def book_label_and_full_lifecycle(s: Subject) -> None:
    adapter = s.new_adapter()
    booking = await adapter.book_pickup(pickup_request(adapter, "RET-C1"))
    assert booking.awb and booking.carrier == s.code
    assert [b.awb for b in s.control.bookings_for("RET-C1")] == [booking.awb]
    label = await adapter.label(booking.awb)
    assert label is None or label.label_pdf or label.label_fields
    s.control.advance(200 * 3600)
    events = unified(s, await tracked(adapter, booking.awb))
    assert {e.awb for e in events} == {booking.awb}
    statuses = [e.status for e in events]
    assert Status.UNKNOWN not in statuses, [(e.raw_code, e.status) for e in events]
    assert Status.PICKED_UP in statuses or Status.IN_TRANSIT in statuses
    state = fold(events)
    assert state.status is Status.DELIVERED and state.pickup_attempts == 1


async def failed_pickup_has_a_reason_then_a_reattempt(s: Subject) -> None:
    adapter = s.new_adapter()
    s.control.set_scenario("pickup_failed")
    booking = await adapter.book_pickup(pickup_request(adapter, "RET-C2"))
    s.control.advance(200 * 3600)
    events = unified(s, await tracked(adapter, booking.awb))
    failures = [e for e in events if e.status is Status.PICKUP_FAILED]
    assert failures and all(f.reason is not None for f in failures)
    state = fold(events)
    assert state.pickup_attempts >= 2
    assert state.status is Status.DELIVERED


async def cancel_is_idempotent_and_shows_in_tracking(s: Subject) -> None:
    adapter = s.new_adapter()
    booking = await adapter.book_pickup(pickup_request(adapter, "RET-C3"))
    s.control.advance(3600)
    await adapter.cancel(booking.awb)
    await adapter.cancel(booking.awb)
    s.control.advance(10 * 3600)
    assert fold(unified(s, await tracked(adapter, booking.awb))).status is Status.CANCELLED


async def cancel_after_a_restart_uses_the_carrier_reference(s: Subject) -> None:
    """A process that did not book cancels with the stored `carrier_reference` alone, pickup included."""
    booking = await (booker := s.new_adapter()).book_pickup(pickup_request(booker, "RET-C8"))
    s.control.advance(3600)
    restarted = s.new_adapter()
    await restarted.cancel(booking.awb, booking.carrier_reference)
    await s.new_adapter().cancel(booking.awb, booking.carrier_reference)
    s.control.advance(10 * 3600)
    assert fold(unified(s, await tracked(restarted, booking.awb))).status is Status.CANCELLED
    has_open_pickup = getattr(s.sandbox, "has_open_pickup", None)
    if has_open_pickup is not None:
        assert not has_open_pickup(s.app, booking.awb), "the carrier pickup is still open"


async def webhook_is_verified_and_parsed(s: Subject) -> None:
    adapter = s.new_adapter()
    if not adapter.capabilities.webhook_push:
        assert not hasattr(s.sandbox, "webhook_example")
        return
    booking = await adapter.book_pickup(pickup_request(adapter, "RET-C4"))
    s.control.advance(30 * 3600)
    headers, body = s.sandbox.webhook_example(s.control, booking.awb, WEBHOOK_SECRET)
    assert adapter.verify_webhook(headers, body)
    events = adapter.parse_webhook(headers, body)
    assert events and {e.awb for e in events} == {booking.awb}
    forged_headers, forged_body = s.sandbox.webhook_example(s.control, booking.awb, "not-the-secret")
    assert not adapter.verify_webhook(forged_headers, forged_body)


async def fault_ends_in_the_right_error_without_double_booking(s: Subject, kind: str) -> None:
    adapter = s.new_adapter(timeout_s=0.5, retries=1)
    s.control.add_fault(kind, times=5, delay_s=3, retry_after_s=0)
    expected = CarrierResponseInvalid if kind == "malformed" else CarrierUnavailable
    with pytest.raises(expected):
        await adapter.book_pickup(pickup_request(adapter, "RET-C5"))
    assert len(s.control.bookings_for("RET-C5")) <= 1
    s.control.clear_faults()
    booking = await adapter.book_pickup(pickup_request(adapter, "RET-C5"))
    assert [b.awb for b in s.control.bookings_for("RET-C5")] == [booking.awb]


async def retry_after_is_waited_out(s: Subject) -> None:
    adapter = s.new_adapter()
    s.control.add_fault("429", times=1, retry_after_s=1)
    started = time.monotonic()
    booking = await adapter.book_pickup(pickup_request(adapter, "RET-C6"))
    assert time.monotonic() - started >= 0.9
    assert [b.awb for b in s.control.bookings_for("RET-C6")] == [booking.awb]


async def concurrent_identical_bookings_book_once(s: Subject) -> None:
    adapter = s.new_adapter()
    bookings = await asyncio.gather(*(adapter.book_pickup(pickup_request(adapter, "RET-C7")) for _ in range(10)))
    assert len(s.control.bookings_for("RET-C7")) == 1
    assert {b.awb for b in bookings} == {s.control.bookings_for("RET-C7")[0].awb}


# Every check that takes only the subject, in the order the suites run them.
CHECKS = (book_label_and_full_lifecycle, failed_pickup_has_a_reason_then_a_reattempt,
          cancel_is_idempotent_and_shows_in_tracking, cancel_after_a_restart_uses_the_carrier_reference,
          webhook_is_verified_and_parsed, retry_after_is_waited_out, concurrent_identical_bookings_book_once)
