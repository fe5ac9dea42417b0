"""A batch of applies: one step per return, each event in the feed once, races retried."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis.asyncio as aioredis

from carriers.clock import ManualClock
from carriers.errors import StoreError
from gateway.models import Return, Shipment
from gateway.store.keys import Keys
from gateway.store.returns import ApplyRequest, ReturnStore
from normalizers.taxonomy import Status
from tests.integration.test_apply_properties import EVENTS, T0, _return


def _booked(rid: str, awb: str) -> Return:
    shipment = Shipment(carrier="delhivery", awb=awb, booked_at=T0)
    return _return(rid).model_copy(update={"shipment": shipment})


async def _feed(redis: aioredis.Redis, keys: Keys) -> list[tuple[str, str]]:
    return [(f["return_id"], json.loads(f["event"])["fingerprint"]) for _, f in await redis.xrange(keys.feed("m1"))]


async def test_a_batch_merges_requests_of_one_return_and_keeps_each_raw_payload(
        redis: aioredis.Redis, key_prefix: str) -> None:
    keys = Keys(key_prefix)
    store = ReturnStore(redis, keys, ManualClock(T0))
    for rid in ("r1", "r2"):
        await store.insert(_return(rid))
    results = await store.apply_many([
        ApplyRequest("m1", "r1", EVENTS[0:2], raw="first body"),
        ApplyRequest("m1", "r2", EVENTS[0:1], raw="other body"),
        ApplyRequest("m1", "r1", EVENTS[1:3], raw="second body"),  # EVENTS[1] again: recorded once
    ])
    assert [r.ret.id for r in results] == ["r1", "r2"]
    assert [e.fingerprint for e in results[0].new_events] == ["fp00", "fp01", "fp02"]
    assert results[0].ret.status is Status.PICKUP_FAILED
    assert await _feed(redis, keys) == [("r1", "fp00"), ("r1", "fp01"), ("r1", "fp02"), ("r2", "fp00")]
    assert await store.raw_payloads("m1", "r1") == ["second body", "first body"]
    stored = await store.get("m1", "r1")
    assert stored is not None and stored.state == results[0].ret.state

    again = await store.apply_many([ApplyRequest("m1", "r1", EVENTS[0:3]), ApplyRequest("m1", "r2", EVENTS[0:1])])
    assert [r.changed for r in again] == [False, False]
    assert len(await _feed(redis, keys)) == 4


async def test_scans_of_an_awb_the_return_no_longer_uses_are_left_out(redis: aioredis.Redis, key_prefix: str) -> None:
    store = ReturnStore(redis, Keys(key_prefix), ManualClock(T0))
    await store.insert(_booked("r1", "NEW-AWB"))
    [result] = await store.apply_many([ApplyRequest("m1", "r1", EVENTS[0:2], awb="OLD-AWB"),
                                       ApplyRequest("m1", "r1", EVENTS[2:3], awb="NEW-AWB")])
    assert [e.fingerprint for e in result.new_events] == ["fp02"]
    assert [e.fingerprint for e in await store.events("m1", "r1")] == ["fp02"]


async def test_two_processes_racing_on_the_same_returns_lose_nothing_and_repeat_nothing(
        redis: aioredis.Redis, key_prefix: str) -> None:
    keys = Keys(key_prefix)
    # Two stores are two worker processes: no shared lock, only the compare-and-set between them.
    one, two = (ReturnStore(redis, keys, ManualClock(T0)) for _ in range(2))
    rids = [f"r{i}" for i in range(20)]
    for rid in rids:
        await one.insert(_return(rid))
    odd, even = EVENTS[1::2], EVENTS[0::2]
    await asyncio.gather(*(store.apply_many([ApplyRequest("m1", rid, events) for rid in rids])
                           for store, events in ((one, odd), (two, even)) for _ in range(3)))
    feed = await _feed(redis, keys)
    assert len(feed) == len(set(feed)) == len(rids) * len(EVENTS)
    for rid in rids:
        stored = await one.get("m1", rid)
        assert stored is not None and stored.status is Status.DELIVERED


async def test_a_return_that_is_gone_does_not_hold_up_the_rest_of_the_batch(
        redis: aioredis.Redis, key_prefix: str) -> None:
    keys = Keys(key_prefix)
    store = ReturnStore(redis, keys, ManualClock(T0))
    await store.insert(_return("r1"))
    results = await store.apply_many([ApplyRequest("m1", "gone", EVENTS[0:1]), ApplyRequest("m1", "r1", EVENTS[0:1])])
    assert [r.ret.id for r in results] == ["r1"]
    assert await _feed(redis, keys) == [("r1", "fp00")]
    with pytest.raises(StoreError, match="return gone of merchant m1 is gone"):
        await store.apply("m1", "gone", EVENTS[0:1])
