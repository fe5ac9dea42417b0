"""The Delhivery adapter against its sandbox over real HTTP: booking, lifecycle, cancel and faults.

The helpers take an adapter and a `SandboxControl`, so the suite can later be parametrised
over every carrier whose sandbox is built on `carriers.sandbox`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from carriers.base import (
    Address,
    CarrierAdapter,
    CarrierEvent,
    Contact,
    Item,
    Parcel,
    PickupRequest,
    make_adapter,
)
from carriers.delhivery import wire
from carriers.delhivery.adapter import DelhiveryAdapter
from carriers.delhivery.sandbox import SANDBOX_TOKEN, make_app
from carriers.delhivery.settings import DelhiverySettings
from carriers.errors import (
    CarrierAuthError,
    CarrierRejected,
    CarrierResponseInvalid,
    CarrierUnavailable,
    NotServiceable,
)
from carriers.sandbox import SandboxControl

ServerFactory = Callable[..., Awaitable[TestServer]]
AdapterFactory = Callable[..., DelhiveryAdapter]

HAPPY_PATH = [
    ("PP", "Open"), ("PP", "Scheduled"), ("PP", "Dispatched"), ("PU", "In Transit"), ("PU", "In Transit"),
    ("PU", "Pending"), ("PU", "Dispatched"), ("DL", "DTO"),
]


def pickup_request(reference: str = "RET-1001", pin: str = "560001") -> PickupRequest:
    return PickupRequest(
        reference=reference,
        pickup_address=Address(line1="12 MG Road", city="Bengaluru", state="Karnataka", postcode=pin),
        pickup_contact=Contact(name="Asha R", phone="9800000000"),
        drop_address=Address(line1="Plot 5", city="Bhiwandi", state="Maharashtra", postcode="421302"),
        drop_contact=Contact(name="Acme WH", phone="9800000001"),
        parcel=Parcel(weight_g=800),
        items=(Item(sku="SH-1", name="Shoes", price=Decimal("1499.00")),),
        reason="size issue",
    )


@pytest.fixture
def control() -> SandboxControl:
    return SandboxControl()


@pytest.fixture
async def server(aiohttp_server: ServerFactory, control: SandboxControl) -> TestServer:
    return await aiohttp_server(make_app(control))


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def new_adapter(server: TestServer, session: aiohttp.ClientSession,
                control: SandboxControl) -> AdapterFactory:
    def build(**overrides: Any) -> DelhiveryAdapter:
        fields: dict[str, Any] = {"base_url": str(server.make_url("")), "token": SANDBOX_TOKEN,
                                  "client_name": "ACME-B2C", "warehouse": "ACME-BHW", "timeout_s": 2.0,
                                  "retries": 2, "webhook_secret": "hook-secret"}
        settings = DelhiverySettings(**(fields | overrides))
        adapter = make_adapter(DelhiveryAdapter, settings, session, control.clock)
        assert isinstance(adapter, DelhiveryAdapter)
        return adapter
    return build


@pytest.fixture
def adapter(new_adapter: AdapterFactory) -> DelhiveryAdapter:
    return new_adapter()


# -- helpers that only need an adapter and a control ---------------------------------------------


async def track_one(adapter: CarrierAdapter, awb: str) -> list[CarrierEvent]:
    return [e for raw in await adapter.track([awb]) for e in adapter.parse_tracking(raw)]


async def lifecycle_after(adapter: CarrierAdapter, control: SandboxControl, awb: str,
                          hours: float) -> list[tuple[str, str]]:
    control.advance(hours * 3600)
    events = await track_one(adapter, awb)
    assert [e.occurred_at for e in events] == sorted(e.occurred_at for e in events)
    return [(e.code_type, e.code) for e in events]


async def book_once(adapter: CarrierAdapter, control: SandboxControl, reference: str) -> str:
    booking = await adapter.book_pickup(pickup_request(reference))
    assert len(control.bookings_for(reference)) == 1
    return booking.awb


# -- booking, label, lifecycle --------------------------------------------------------------------


async def test_book_returns_a_delhivery_like_awb(adapter: DelhiveryAdapter, control: SandboxControl) -> None:
    awb = await book_once(adapter, control, "RET-1")
    assert awb.isdigit() and 13 <= len(awb) <= 14
    assert control.booking_calls["RET-1"] == 1


async def test_label_gives_fields_not_pdf(adapter: DelhiveryAdapter, control: SandboxControl) -> None:
    awb = await book_once(adapter, control, "RET-2")
    label = await adapter.label(awb)
    assert label is not None and label.label_pdf is None
    assert (label.awb, label.label_fields["oid"]) == (awb, "RET-2")
    assert label.label_fields["sort_code"] == "BEN/RVP"
    assert await adapter.label("99999999999999") is None


async def test_clock_reveals_the_whole_lifecycle_in_order(adapter: DelhiveryAdapter,
                                                          control: SandboxControl) -> None:
    awb = await book_once(adapter, control, "RET-3")
    assert await lifecycle_after(adapter, control, awb, 2) == HAPPY_PATH[:2]
    assert await lifecycle_after(adapter, control, awb, 80) == HAPPY_PATH
    (picked,) = [e for e in await track_one(adapter, awb) if e.detail_code == "EOD-77"]
    assert picked.occurred_at.utcoffset() == timedelta(hours=5, minutes=30)


async def test_pickup_failed_scenario_shows_attempt_then_reattempt(adapter: DelhiveryAdapter,
                                                                   control: SandboxControl) -> None:
    control.set_scenario("pickup_failed", reason_code="EOD-11")
    awb = await book_once(adapter, control, "RET-4")
    control.advance(110 * 3600)
    events = await track_one(adapter, awb)
    assert [(e.code_type, e.code, e.detail_code) for e in events][2:6] == [
        ("PP", "Dispatched", "FMOFP-101"), ("PP", "Scheduled", "EOD-11"), ("PP", "Dispatched", "FMOFP-101"),
        ("PU", "In Transit", "EOD-77")]
    assert events[3].description == "Consignee Unavailable"
    assert events[4].occurred_at - events[2].occurred_at == timedelta(hours=24)
    assert (events[-1].code_type, events[-1].code) == ("DL", "DTO")
    # The scenario was for one booking only.
    next_awb = await book_once(adapter, control, "RET-5")
    assert [(e.code_type, e.code) for e in await track_one(adapter, next_awb)] == HAPPY_PATH[:1]


async def test_track_batches_and_unknown_awbs(adapter: DelhiveryAdapter, control: SandboxControl,
                                              session: aiohttp.ClientSession, server: TestServer) -> None:
    awbs = [await book_once(adapter, control, f"RET-B{i}") for i in range(3)]
    raws = await adapter.track([*awbs, *(f"1{i:013d}" for i in range(60))])
    assert len(raws) == 2
    assert {e.awb for raw in raws for e in adapter.parse_tracking(raw)} == set(awbs)
    headers = {"Authorization": f"Token {SANDBOX_TOKEN}"}
    too_many = ",".join(str(i) for i in range(51))
    url = server.make_url(wire.TRACK_PATH)
    async with session.get(url, params={"waybill": too_many}, headers=headers) as resp:
        assert resp.status == 400


async def test_cancel_twice_then_not_after_pickup(adapter: DelhiveryAdapter, control: SandboxControl) -> None:
    awb = await book_once(adapter, control, "RET-6")
    control.advance(3600 * 2)
    await adapter.cancel(awb)
    await adapter.cancel(awb)
    control.advance(3600 * 100)
    assert [(e.code_type, e.code) for e in await track_one(adapter, awb)][-1] == ("CN", "Canceled")
    picked = await book_once(adapter, control, "RET-7")
    control.advance(3600 * 30)
    with pytest.raises(CarrierRejected):
        await adapter.cancel(picked)


async def test_reschedule_edits_contact_while_scheduled(adapter: DelhiveryAdapter,
                                                        control: SandboxControl) -> None:
    awb = await book_once(adapter, control, "RET-8")
    control.advance(3600 * 2)
    await adapter.reschedule(awb, date(2026, 11, 5), contact=Contact(name="Asha Rao", phone="9800000002"))
    assert (control.bookings[awb].request["name"], control.bookings[awb].request["phone"]) == (
        "Asha Rao", "9800000002")
    control.advance(3600 * 30)
    with pytest.raises(CarrierRejected):
        await adapter.reschedule(awb, date(2026, 11, 6), contact=Contact(name="A", phone="9800000003"))


async def test_serviceability_and_non_serviceable_booking(adapter: DelhiveryAdapter) -> None:
    good, bad = pickup_request(), pickup_request("RET-9", pin="790001")
    assert (await adapter.serviceability(good.pickup_address, good.drop_address, good.parcel)).is_serviceable
    verdict = await adapter.serviceability(bad.pickup_address, bad.drop_address, bad.parcel)
    assert not verdict.is_serviceable and "790001" in verdict.reason
    with pytest.raises(NotServiceable):
        await adapter.book_pickup(bad)


async def test_bad_token_is_an_auth_error(new_adapter: AdapterFactory) -> None:
    with pytest.raises(CarrierAuthError):
        await new_adapter(token="wrong").book_pickup(pickup_request())


def test_webhook_shared_token(adapter: DelhiveryAdapter) -> None:
    assert adapter.verify_webhook({"Authorization": "Token hook-secret"}, b"{}")
    assert adapter.verify_webhook({"x-delhivery-token": "hook-secret"}, b"{}")
    assert not adapter.verify_webhook({"Authorization": "Token nope"}, b"{}")
    assert not adapter.verify_webhook({}, b"{}")


# -- faults -------------------------------------------------------------------------------------


async def test_timeout_is_unavailable(new_adapter: AdapterFactory, control: SandboxControl) -> None:
    control.add_fault("timeout", path=wire.TRACK_PATH, delay_s=2.0)
    with pytest.raises(CarrierUnavailable):
        await new_adapter(timeout_s=0.3, retries=0).track(["14900000000001"])


async def test_5xx_is_unavailable_after_retries(adapter: DelhiveryAdapter, control: SandboxControl) -> None:
    fault = control.add_fault("5xx", times=5)
    with pytest.raises(CarrierUnavailable):
        await adapter.book_pickup(pickup_request())
    assert fault.times == 2  # three attempts: the first and two retries
    assert control.booking_calls["RET-1001"] == 0


async def test_429_with_retry_after_is_retried(adapter: DelhiveryAdapter, control: SandboxControl) -> None:
    control.add_fault("429", times=1, retry_after_s=1)
    started = time.monotonic()
    await book_once(adapter, control, "RET-10")
    assert time.monotonic() - started >= 0.9


async def test_dropped_connection_is_unavailable(new_adapter: AdapterFactory,
                                                 control: SandboxControl) -> None:
    control.add_fault("drop", times=1, path=wire.CREATE_PATH)
    with pytest.raises(CarrierUnavailable):
        await new_adapter(retries=0).book_pickup(pickup_request())
    assert control.booking_calls["RET-1001"] == 0
    # aiohttp resends an idempotent GET once by itself after a disconnect, so it takes two drops.
    control.add_fault("drop", times=2, path=wire.TRACK_PATH)
    with pytest.raises(CarrierUnavailable):
        await new_adapter(retries=0).track(["14900000000001"])


async def test_malformed_body_is_invalid_and_not_retried(adapter: DelhiveryAdapter,
                                                         control: SandboxControl) -> None:
    control.add_fault("malformed", times=2, path=wire.CREATE_PATH)
    with pytest.raises(CarrierResponseInvalid):
        await adapter.book_pickup(pickup_request())
    assert control.faults[0].times == 1


# -- idempotency --------------------------------------------------------------------------------


async def test_timeout_after_booking_recovers_the_same_awb(new_adapter: AdapterFactory,
                                                           control: SandboxControl) -> None:
    control.add_fault("timeout", path=wire.CREATE_PATH, delay_s=2.0)
    booking = await new_adapter(timeout_s=0.3, retries=1).book_pickup(pickup_request("RET-11"))
    (held,) = control.bookings_for("RET-11")
    assert booking.awb == held.awb
    assert control.booking_calls["RET-11"] == 2


async def test_concurrent_bookings_book_once(adapter: DelhiveryAdapter, control: SandboxControl) -> None:
    bookings = await asyncio.gather(*(adapter.book_pickup(pickup_request("RET-12")) for _ in range(20)))
    assert len(control.bookings_for("RET-12")) == 1
    assert {b.awb for b in bookings} == {control.bookings_for("RET-12")[0].awb}


# -- control routes -----------------------------------------------------------------------------


async def test_control_routes(adapter: DelhiveryAdapter, control: SandboxControl, server: TestServer,
                              session: aiohttp.ClientSession) -> None:
    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with session.post(server.make_url(f"/__sandbox/{path}"), json=body) as resp:
            assert resp.status in (200, 201), await resp.text()
            result: dict[str, Any] = await resp.json()
            return result

    await post("faults", {"kind": "5xx", "times": 1, "path": "/api/cmu"})
    await post("scenario", {"scenario": "pickup_failed", "reason_code": "FMEOD-106", "times": 1})
    before = control.clock.now()
    assert (await post("clock", {"advance_s": 60}))["now"] == (before + timedelta(seconds=60)).isoformat()
    awb = (await adapter.book_pickup(pickup_request("RET-13"))).awb
    await post("clock", {"set": (before + timedelta(hours=30)).isoformat()})
    async with session.get(server.make_url("/__sandbox/state")) as resp:
        state = await resp.json()
    (booked,) = state["bookings"]
    assert (booked["awb"], booked["scenario"], booked["scans"][-1]["StatusCode"]) == (awb, "pickup_failed",
                                                                                     "FMEOD-106")
    assert state["booking_calls"] == {"RET-13": 1} and state["faults"] == []
    async with session.post(server.make_url("/__sandbox/faults"), json={"kind": "gremlins"}) as resp:
        assert resp.status == 400
    async with session.delete(server.make_url("/__sandbox/faults")) as resp:
        assert resp.status == 200
