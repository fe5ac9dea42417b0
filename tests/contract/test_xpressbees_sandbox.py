"""Xpressbees-only behaviour against its sandbox: token refresh on 401, login errors, lanes, batches."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from carriers.base import Address, Contact, Item, Parcel, PickupRequest
from carriers.errors import CarrierAuthError, CarrierRejected, NotServiceable
from carriers.sandbox import SandboxControl
from carriers.xpressbees.adapter import XpressbeesAdapter
from carriers.xpressbees.sandbox import ISSUER_KEY, adapter_settings, make_app
from carriers.xpressbees.settings import XpressbeesSettings


def pickup_request(reference: str, pin: str = "560001") -> PickupRequest:
    return PickupRequest(
        reference=reference,
        pickup_address=Address(line1="12 MG Road", city="Bengaluru", state="Karnataka", postcode=pin),
        pickup_contact=Contact(name="Asha R", phone="9800000000"),
        drop_address=Address(line1="Plot 5", city="Bhiwandi", state="Maharashtra", postcode="421302"),
        drop_contact=Contact(name="Acme WH", phone="9800000001"),
        parcel=Parcel(weight_g=800),
        items=(Item(sku="SH-1", name="Shoes", price=Decimal("1499.00")),),
    )


@pytest.fixture
def control() -> SandboxControl:
    return SandboxControl()


@pytest.fixture
async def server(aiohttp_server: Any, control: SandboxControl) -> TestServer:
    srv: TestServer = await aiohttp_server(make_app(control))
    return srv


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def new_adapter(server: TestServer, session: aiohttp.ClientSession,
                control: SandboxControl) -> Callable[..., XpressbeesAdapter]:
    def build(**overrides: Any) -> XpressbeesAdapter:
        fields = adapter_settings(str(server.make_url("")).rstrip("/")) | {"timeout_s": 2.0} | overrides
        return XpressbeesAdapter(XpressbeesSettings(**fields), session, control.clock)
    return build


async def test_a_refused_token_is_refetched_once(new_adapter: Callable[..., XpressbeesAdapter],
                                                 server: TestServer) -> None:
    adapter = new_adapter()
    await adapter.book_pickup(pickup_request("RET-X1"))
    issuer = server.app[ISSUER_KEY]
    issuer.tokens.clear()  # the carrier forgets every session, as after a restart
    booking = await adapter.book_pickup(pickup_request("RET-X2"))
    assert booking.awb and issuer.issued == 2


async def test_wrong_login_is_an_auth_error(new_adapter: Callable[..., XpressbeesAdapter]) -> None:
    with pytest.raises(CarrierAuthError):
        await new_adapter(password="wrong").book_pickup(pickup_request("RET-X3"))


async def test_non_serviceable_pin(new_adapter: Callable[..., XpressbeesAdapter]) -> None:
    with pytest.raises(NotServiceable):
        await new_adapter().book_pickup(pickup_request("RET-X4", pin="790001"))


async def test_tracking_batches_and_cancel_after_pickup(new_adapter: Callable[..., XpressbeesAdapter],
                                                        control: SandboxControl) -> None:
    adapter = new_adapter(track_batch=2)
    awbs = [(await adapter.book_pickup(pickup_request(f"RET-B{i}"))).awb for i in range(3)]
    control.advance(30 * 3600)
    payloads = await adapter.track([*awbs, "1399999999999999"])
    assert len(payloads) == 2
    events = [e for raw in payloads for e in adapter.parse_tracking(raw)]
    assert {e.awb for e in events} == set(awbs)
    with pytest.raises(CarrierRejected):
        await adapter.cancel(awbs[0])
