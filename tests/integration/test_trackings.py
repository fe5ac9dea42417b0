"""Track-only shipments: an AWB booked outside Backhaul enters the same path as a return."""

from __future__ import annotations

from decimal import Decimal

from carriers.base import Address, Contact, Item, Parcel, PickupRequest
from gateway import keys
from gateway.api.trackings import choose_carrier
from gateway.models import TrackingCreate
from tests.integration.conftest import System


async def _booked_elsewhere(system: System, reference: str) -> str:
    """A pickup the merchant booked with the carrier directly, not through Backhaul."""
    adapter = system.app[keys.CARRIERS].get("delhivery")
    booking = await adapter.book_pickup(PickupRequest(
        reference=reference, pickup_address=Address(line1="12 MG Road", city="Bengaluru", postcode="560001"),
        pickup_contact=Contact(name="Asha", phone="9800000000"),
        drop_address=Address(line1="Plot 5", city="Bhiwandi", postcode="421302"),
        drop_contact=Contact(name="Acme", phone="9800000001"), parcel=Parcel(weight_g=500),
        items=(Item(sku="S", name="Shoes", price=Decimal(1)),)))
    return booking.awb


async def test_a_tracked_awb_is_polled_fed_and_shown(system: System) -> None:
    awb = await _booked_elsewhere(system, "EXT-1")
    resp = await system.client.post("/v1/trackings", json={"awb": awb, "carrier": "delhivery", "order_id": "EXT-1"},
                                    headers=system.auth)
    assert resp.status == 201
    tracking = await resp.json()
    assert tracking["kind"] == "tracking" and tracking["shipment"]["awb"] == awb and tracking["label_url"] is None
    await system.advance(hours=30)
    doc = await system.get(tracking["id"])
    assert doc["status"] == "picked_up" or doc["status"] == "in_transit"
    feed = await (await system.client.get("/v1/events", headers=system.auth)).json()
    assert {e["return_id"] for e in feed["data"]} == {tracking["id"]}
    page = await system.client.get("/t/" + tracking["tracking_url"].rsplit("/", 1)[1])
    assert page.status == 200 and awb in await page.text()
    again = await system.client.post("/v1/trackings", json={"awb": awb, "carrier": "delhivery"}, headers=system.auth)
    assert again.status == 200 and (await again.json())["id"] == tracking["id"]
    assert (await system.client.post(f"/v1/returns/{tracking['id']}/cancel", headers=system.auth)).status == 409
    assert (await system.client.get(f"/v1/returns/{tracking['id']}/label", headers=system.auth)).status == 409


async def test_without_a_carrier_a_weak_guess_is_refused_with_candidates(system: System) -> None:
    awb = await _booked_elsewhere(system, "EXT-2")
    before = set(await system.keys())
    resp = await system.client.post("/v1/trackings", json={"awb": awb}, headers=system.auth)
    assert resp.status == 422
    problem = await resp.json()
    assert problem["candidates"][0]["carrier"] == "delhivery" and problem["candidates"][0]["confidence"] < 0.6
    assert set(await system.keys()) == before


def test_a_check_digit_match_picks_the_carrier() -> None:
    carrier, candidates = choose_carrier(TrackingCreate(awb="1Z999AA10123456784"), {"ups", "delhivery", "fedex"})
    assert carrier == "ups" and candidates[0].confidence >= 0.6


async def test_bad_tracking_input(system: System) -> None:
    for body, field in (({"carrier": "delhivery"}, "awb"), ({"awb": "x!"}, "awb"),
                        ({"awb": "14900000000001", "carrier": "acme"}, "carrier")):
        resp = await system.client.post("/v1/trackings", json=body, headers=system.auth)
        assert resp.status == 422, body
        assert field in [e["field"] for e in (await resp.json())["errors"]]
