"""Drop-off returns against each carrier's sandbox: a return label, no courier, a lifecycle to delivered.

Only carriers whose capabilities say `drop_off` take part; what each sandbox saw is checked in that
carrier's own terms (UPS: no PRN; FedEx: DROPOFF_AT_FEDEX_LOCATION and no pickup; DHL:
`pickup.isRequested` false and no dispatch confirmation; USPS: no Carrier Pickup).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from carriers.sandbox import SandboxBooking, SandboxControl
from carriers.usps import sandbox as usps_sandbox
from normalizers.machine import fold
from normalizers.maps import MAPS_DIR, load_map
from normalizers.taxonomy import Status
from tests.contract import checks
from tests.contract.conftest import adapter_class, carrier_codes, sandbox_module

DROP_OFF = [c for c in carrier_codes() if adapter_class(c).capabilities.drop_off]


def test_drop_off_carriers_are_the_ones_whose_apis_book_label_only_returns() -> None:
    # carriers.md documents a label-only return for these four; none for the Indian carriers.
    assert DROP_OFF == ["dhl", "fedex", "ups", "usps"]


def saw_a_pickup(code: str, app: web.Application, booking: SandboxBooking) -> bool:
    """Whether the sandbox was asked for a courier for `booking`, in the carrier's own terms."""
    if code == "ups":
        return bool(booking.request["prns"])
    if code == "fedex":
        return booking.request["shipment"]["pickupType"] != "DROPOFF_AT_FEDEX_LOCATION" or bool(
            booking.request["pickups"])
    if code == "dhl":
        return bool(booking.request["pickup"].get("isRequested")) or bool(booking.request["dispatch"])
    if code == "usps":
        return bool(app[usps_sandbox.STATE_KEY].pickups)
    raise AssertionError(f"no check for {code}")


@pytest.fixture
def control() -> SandboxControl:
    return SandboxControl()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def subject(code: str, aiohttp_server: Any, control: SandboxControl,
                  session: aiohttp.ClientSession) -> checks.Subject:
    server: TestServer = await aiohttp_server(sandbox_module(code).make_app(control))
    build = checks.adapter_factory(adapter_class(code), sandbox_module(code), str(server.make_url("")), session,
                                   control)
    return checks.Subject(code, sandbox_module(code), server.app, control, load_map(MAPS_DIR / f"{code}.yaml"), build)


@pytest.mark.parametrize("code", DROP_OFF)
async def test_drop_off_books_a_label_and_no_courier(code: str, subject: checks.Subject) -> None:
    adapter = subject.new_adapter()
    request = checks.pickup_request(adapter, "RET-D1").model_copy(update={"drop_off": True})
    booking = await adapter.book_pickup(request)
    [held] = subject.control.bookings_for("RET-D1")
    assert held.awb == booking.awb and not saw_a_pickup(code, subject.app, held)
    again = await adapter.book_pickup(request)  # the retry of a lost answer books nothing new
    assert again.awb == booking.awb and len(subject.control.bookings_for("RET-D1")) == 1
    subject.control.advance(200 * 3600)
    events = checks.unified(subject, await checks.tracked(adapter, booking.awb))
    statuses = [e.status for e in events]
    assert Status.UNKNOWN not in statuses and Status.OUT_FOR_PICKUP not in statuses  # nobody came for it
    assert fold(events).status is Status.DELIVERED


@pytest.mark.parametrize("code", DROP_OFF)
async def test_a_pickup_request_still_books_the_courier(code: str, subject: checks.Subject) -> None:
    adapter = subject.new_adapter()
    await adapter.book_pickup(checks.pickup_request(adapter, "RET-D2"))
    [held] = subject.control.bookings_for("RET-D2")
    assert saw_a_pickup(code, subject.app, held)


@pytest.mark.parametrize("code", DROP_OFF)
async def test_drop_off_cancels_from_another_process(code: str, subject: checks.Subject) -> None:
    booker = subject.new_adapter()
    request = checks.pickup_request(booker, "RET-D3").model_copy(update={"drop_off": True})
    booking = await booker.book_pickup(request)
    subject.control.advance(3600)
    restarted = subject.new_adapter()
    await restarted.cancel(booking.awb, booking.carrier_reference)
    await restarted.cancel(booking.awb, booking.carrier_reference)
