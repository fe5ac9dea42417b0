"""One behavioural suite for every carrier: its adapter against its own sandbox, over real HTTP.

Booking, label, a full lifecycle that normalizes to `delivered`, a failed pickup with a reason
and a re-attempt, cancel, webhooks, and every fault kind ending in the right error class
without a double booking. A new carrier gets all of it by registering (see conftest.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from importlib.metadata import entry_points
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from carriers.base import Address, CarrierAdapter, CarrierEvent, Contact, Item, Parcel, PickupRequest, make_adapter
from carriers.errors import CarrierResponseInvalid, CarrierUnavailable
from carriers.sandbox import SandboxControl
from normalizers.engine import normalize
from normalizers.machine import fold
from normalizers.maps import MAPS_DIR, load_map
from normalizers.taxonomy import Status
from tests.contract.conftest import adapter_class, carrier_codes, sandbox_module

CODES = carrier_codes()
WEBHOOK_SECRET = "contract-hook-secret"
pytestmark = pytest.mark.parametrize("code", CODES)

# Where each carrier picks up in the suite: an Indian lane, or a US one for the cross-border carriers.
LANES: dict[str, tuple[Address, Address]] = {
    "IN": (Address(line1="12 MG Road", city="Bengaluru", state="Karnataka", postcode="560001"),
           Address(line1="Plot 5, Logistics Park", city="Bhiwandi", state="Maharashtra", postcode="421302")),
    "US": (Address(line1="350 Fifth Avenue", city="New York", state="NY", postcode="10118", country="US"),
           Address(line1="1 Returns Way", city="Memphis", state="TN", postcode="38118", country="US")),
}


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


@pytest.fixture
def control() -> SandboxControl:
    return SandboxControl()


@pytest.fixture
async def server(code: str, aiohttp_server: Any, control: SandboxControl) -> TestServer:
    srv: TestServer = await aiohttp_server(sandbox_module(code).make_app(control))
    return srv


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def new_adapter(code: str, server: TestServer, session: aiohttp.ClientSession,
                control: SandboxControl) -> Callable[..., CarrierAdapter]:
    cls = adapter_class(code)

    def build(**overrides: Any) -> CarrierAdapter:
        fields = sandbox_module(code).adapter_settings(str(server.make_url("")).rstrip("/"))
        fields |= {"timeout_s": 2.0, "retries": 2, "webhook_secret": WEBHOOK_SECRET} | overrides
        return make_adapter(cls, cls.settings_model(**fields), session, control.clock)

    return build


@pytest.fixture
def adapter(new_adapter: Callable[..., CarrierAdapter]) -> CarrierAdapter:
    return new_adapter()


async def tracked(adapter: CarrierAdapter, awb: str) -> list[CarrierEvent]:
    return [e for raw in await adapter.track([awb]) for e in adapter.parse_tracking(raw)]


def unified(code: str, events: list[CarrierEvent]) -> list[Any]:
    status_map = load_map(MAPS_DIR / f"{code}.yaml")
    return [normalize(e, status_map) for e in events]


def test_is_registered_with_a_map(code: str) -> None:
    assert code in {ep.name for ep in entry_points(group="backhaul.carriers")}, \
        f"add {code} to [project.entry-points.'backhaul.carriers'] in pyproject.toml"
    assert load_map(MAPS_DIR / f"{code}.yaml").carrier == code
    assert adapter_class(code).code == code


async def test_book_label_and_full_lifecycle(code: str, adapter: CarrierAdapter, control: SandboxControl) -> None:
    booking = await adapter.book_pickup(pickup_request(adapter, "RET-C1"))
    assert booking.awb and booking.carrier == code
    assert [b.awb for b in control.bookings_for("RET-C1")] == [booking.awb]
    label = await adapter.label(booking.awb)
    assert label is None or label.label_pdf or label.label_fields
    control.advance(200 * 3600)
    events = unified(code, await tracked(adapter, booking.awb))
    assert {e.awb for e in events} == {booking.awb}
    statuses = [e.status for e in events]
    assert Status.UNKNOWN not in statuses, [(e.raw_code, e.status) for e in events]
    assert Status.PICKED_UP in statuses or Status.IN_TRANSIT in statuses
    state = fold(events)
    assert state.status is Status.DELIVERED and state.pickup_attempts == 1


async def test_failed_pickup_has_a_reason_then_a_reattempt(code: str, adapter: CarrierAdapter,
                                                           control: SandboxControl) -> None:
    control.set_scenario("pickup_failed")
    booking = await adapter.book_pickup(pickup_request(adapter, "RET-C2"))
    control.advance(200 * 3600)
    events = unified(code, await tracked(adapter, booking.awb))
    failures = [e for e in events if e.status is Status.PICKUP_FAILED]
    assert failures and all(f.reason is not None for f in failures)
    state = fold(events)
    assert state.pickup_attempts >= 2
    assert state.status is Status.DELIVERED


async def test_cancel_is_idempotent_and_shows_in_tracking(code: str, adapter: CarrierAdapter,
                                                          control: SandboxControl) -> None:
    booking = await adapter.book_pickup(pickup_request(adapter, "RET-C3"))
    control.advance(3600)
    await adapter.cancel(booking.awb)
    await adapter.cancel(booking.awb)
    control.advance(10 * 3600)
    assert fold(unified(code, await tracked(adapter, booking.awb))).status is Status.CANCELLED


async def test_webhook_is_verified_and_parsed(code: str, adapter: CarrierAdapter, control: SandboxControl) -> None:
    if not adapter.capabilities.webhook_push:
        assert not hasattr(sandbox_module(code), "webhook_example")
        return
    booking = await adapter.book_pickup(pickup_request(adapter, "RET-C4"))
    control.advance(30 * 3600)
    headers, body = sandbox_module(code).webhook_example(control, booking.awb, WEBHOOK_SECRET)
    assert adapter.verify_webhook(headers, body)
    events = adapter.parse_webhook(headers, body)
    assert events and {e.awb for e in events} == {booking.awb}
    forged_headers, forged_body = sandbox_module(code).webhook_example(control, booking.awb, "not-the-secret")
    assert not adapter.verify_webhook(forged_headers, forged_body)


@pytest.mark.parametrize("kind", ["timeout", "5xx", "429", "drop", "malformed"])
async def test_faults_end_in_the_right_error_without_double_booking(
        code: str, kind: str, new_adapter: Callable[..., CarrierAdapter], control: SandboxControl) -> None:
    adapter = new_adapter(timeout_s=0.5, retries=1)
    control.add_fault(kind, times=5, delay_s=3, retry_after_s=0)
    expected = CarrierResponseInvalid if kind == "malformed" else CarrierUnavailable
    with pytest.raises(expected):
        await adapter.book_pickup(pickup_request(adapter, "RET-C5"))
    assert len(control.bookings_for("RET-C5")) <= 1
    control.clear_faults()
    booking = await adapter.book_pickup(pickup_request(adapter, "RET-C5"))
    assert [b.awb for b in control.bookings_for("RET-C5")] == [booking.awb]


async def test_429_with_retry_after_is_waited_out(code: str, adapter: CarrierAdapter,
                                                 control: SandboxControl) -> None:
    control.add_fault("429", times=1, retry_after_s=1)
    started = time.monotonic()
    booking = await adapter.book_pickup(pickup_request(adapter, "RET-C6"))
    assert time.monotonic() - started >= 0.9
    assert [b.awb for b in control.bookings_for("RET-C6")] == [booking.awb]


async def test_concurrent_identical_bookings_book_once(code: str, adapter: CarrierAdapter,
                                                       control: SandboxControl) -> None:
    bookings = await asyncio.gather(*(adapter.book_pickup(pickup_request(adapter, "RET-C7")) for _ in range(10)))
    assert len(control.bookings_for("RET-C7")) == 1
    assert {b.awb for b in bookings} == {control.bookings_for("RET-C7")[0].awb}
