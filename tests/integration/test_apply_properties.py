"""Property: any arrival order and any duplication of a shipment's events give the same state and feed."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carriers.base import Address, Contact, Item, Parcel
from carriers.clock import ManualClock
from gateway.models import Return, ReturnCreate
from gateway.store.keys import Keys
from gateway.store.returns import ReturnStore
from gateway.store.server import client_for
from normalizers.machine import ShipmentState
from normalizers.taxonomy import Reason, Status, TrackingEvent

T0 = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)
LIFE = [(Status.PICKUP_SCHEDULED, None), (Status.OUT_FOR_PICKUP, None),
        (Status.PICKUP_FAILED, Reason.CUSTOMER_UNAVAILABLE), (Status.OUT_FOR_PICKUP, None),
        (Status.PICKED_UP, None), (Status.IN_TRANSIT, None), (Status.OUT_FOR_DELIVERY, None),
        (Status.DELIVERED, None), (Status.IN_TRANSIT, None)]  # a late scan after delivery
EVENTS = [TrackingEvent(carrier="delhivery", awb="1490000000001", status=s, reason=r, raw_code=f"X/{i}",
                        occurred_at=T0 + timedelta(hours=6 * i), fingerprint=f"fp{i:02d}")
          for i, (s, r) in enumerate(LIFE)]


def _return(rid: str) -> Return:
    address = Address(line1="12 MG Road", city="Bengaluru", postcode="560001")
    contact = Contact(name="Asha", phone="9800000000")
    body = ReturnCreate(order_id="O-1", customer=contact, pickup_address=address,
                        items=[Item(sku="S", name="Shoes", price=Decimal(1))], parcel=Parcel(weight_g=500))
    return Return(id=rid, merchant_id="m1", order_id="O-1", created_at=T0, updated_at=T0, request=body,
                  drop_address=address, drop_contact=contact, state=ShipmentState.initial(), tracking_token="t" * 32)


async def _replay(url: str, deliveries: list[list[int]]) -> tuple[ShipmentState, list[str]]:
    client = client_for(url)
    keys = Keys(f"bhp:{uuid.uuid4().hex[:10]}:")
    store = ReturnStore(client, keys, ManualClock(T0))
    try:
        await store.insert(_return("r1"))
        for batch in deliveries:
            await store.apply("m1", "r1", [EVENTS[i] for i in batch])
        ret = await store.get("m1", "r1")
        feed = await client.xrange(keys.feed("m1"))
        assert ret is not None
        return ret.state, [json.loads(f["event"])["fingerprint"] for _, f in feed]
    finally:
        leftovers = [k async for k in client.scan_iter(match=f"{keys.prefix}*")]
        if leftovers:
            await client.delete(*leftovers)
        await client.aclose()


arrivals = st.lists(st.lists(st.integers(0, len(EVENTS) - 1), min_size=1, max_size=4), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(list(range(len(EVENTS)))), extra=arrivals)
def test_any_order_and_duplication_gives_the_same_state_and_feed(redis_url: str, order: list[int],
                                                                extra: list[list[int]]) -> None:
    # Every event arrives at least once (in `order`), some again, in batches of any shape.
    deliveries = [[i] for i in order] + extra
    state, feed = asyncio.run(_replay(redis_url, deliveries))
    reference_state, reference_feed = asyncio.run(_replay(redis_url, [list(range(len(EVENTS)))]))
    assert state == reference_state
    assert state.status is Status.DELIVERED and state.pickup_attempts == 2
    assert sorted(feed) == sorted(reference_feed) == [e.fingerprint for e in EVENTS]
