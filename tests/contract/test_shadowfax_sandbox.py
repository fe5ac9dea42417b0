"""Shadowfax-only behaviour against its sandbox: serviceability, lanes, refusals and cancel after pickup."""

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
from carriers.shadowfax.adapter import ShadowfaxAdapter
from carriers.shadowfax.sandbox import adapter_settings, make_app
from carriers.shadowfax.settings import ShadowfaxSettings

DROP = Address(line1="Plot 5", city="Bhiwandi", state="Maharashtra", postcode="421302")


def pickup_request(reference: str, pin: str = "560001") -> PickupRequest:
    return PickupRequest(
        reference=reference,
        pickup_address=Address(line1="12 MG Road", city="Bengaluru", state="Karnataka", postcode=pin),
        pickup_contact=Contact(name="Asha R", phone="9800000000"),
        drop_address=DROP, drop_contact=Contact(name="Acme WH", phone="9800000001"),
        parcel=Parcel(weight_g=800), items=(Item(sku="SH-1", name="Shoes", price=Decimal("1499.00")),),
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
                control: SandboxControl) -> Callable[..., ShadowfaxAdapter]:
    def build(**overrides: Any) -> ShadowfaxAdapter:
        fields = adapter_settings(str(server.make_url("")).rstrip("/")) | {"timeout_s": 2.0} | overrides
        return ShadowfaxAdapter(ShadowfaxSettings(**fields), session, control.clock)
    return build


async def test_serviceability(new_adapter: Callable[..., ShadowfaxAdapter]) -> None:
    adapter = new_adapter()
    parcel = Parcel(weight_g=800)
    good = await adapter.serviceability(pickup_request("x").pickup_address, DROP, parcel)
    bad = await adapter.serviceability(pickup_request("x", pin="790001").pickup_address, DROP, parcel)
    assert good.is_serviceable and not bad.is_serviceable


async def test_refusals_by_class(new_adapter: Callable[..., ShadowfaxAdapter]) -> None:
    with pytest.raises(NotServiceable):
        await new_adapter().book_pickup(pickup_request("RET-S1", pin="790001"))
    with pytest.raises(CarrierAuthError):
        await new_adapter(token="wrong").book_pickup(pickup_request("RET-S2"))
    with pytest.raises(CarrierRejected):
        await new_adapter(seller_code="UNKNOWN").book_pickup(pickup_request("RET-S3"))


async def test_cancel_after_pickup_is_refused(new_adapter: Callable[..., ShadowfaxAdapter],
                                              control: SandboxControl) -> None:
    adapter = new_adapter()
    booking = await adapter.book_pickup(pickup_request("RET-S4"))
    control.advance(30 * 3600)
    with pytest.raises(CarrierRejected):
        await adapter.cancel(booking.awb)
