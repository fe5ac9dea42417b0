"""Carrier webhooks in, the unified feed out: one path shared with polling, each event once."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis

from carriers.delhivery import sandbox as delhivery_sandbox
from gateway import keys
from gateway.app import INBOUND_WORKER
from gateway.workers.observers import ObserverDeps, ObserverWorker
from tests.integration.conftest import WEBHOOK_SECRET, System


async def _push_latest(system: System, awb: str, secret: str = WEBHOOK_SECRET) -> Any:
    headers, body = delhivery_sandbox.webhook_example(system.control, awb, secret)
    return await system.client.post("/webhooks/carriers/delhivery", data=body, headers=headers)


async def _drain(system: System) -> None:
    worker = system.app[INBOUND_WORKER]
    for _ in range(50):
        if await system.redis.xlen(f"{system.prefix}inbound") and await _pending(system) == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"inbound stream not drained by {worker.name}")


async def _pending(system: System) -> int:
    """Entries not yet acknowledged, or not yet even delivered to a worker."""
    stream = f"{system.prefix}inbound"
    last = (await system.redis.xinfo_stream(stream))["last-generated-id"]
    groups = await system.redis.xinfo_groups(stream)
    return sum(int(g["pending"]) + (g["last-delivered-id"] != last) for g in groups)


async def _feed(system: System, after: str | None = None, limit: int = 100) -> dict[str, Any]:
    url = f"/v1/events?limit={limit}" + (f"&after={after}" if after else "")
    resp = await system.client.get(url, headers=system.auth)
    assert resp.status == 200
    return dict(await resp.json())


async def test_webhook_is_accepted_applied_and_fed_once(system: System) -> None:
    ret = await system.create()
    awb = ret["shipment"]["awb"]
    system.clock.advance(timedelta(hours=25))
    resp = await _push_latest(system, awb)
    assert resp.status == 202
    again = await _push_latest(system, awb)  # Delhivery retries once at once
    assert again.status == 202
    await _drain(system)
    doc = await system.get(ret["id"])
    assert doc["status"] == "out_for_pickup"
    # The next poll sees the same scans again; each is still fed once.
    await system.advance(hours=1)
    types = [e["type"] for e in (await _feed(system))["data"]]
    assert types.count("tracking.out_for_pickup") == 1
    assert "tracking.created" in types  # the poll filled in the earlier scans after the push


async def test_feed_pages_with_a_stable_cursor(system: System) -> None:
    for i in range(3):
        await system.create(order_id=f"ORD-F{i}")
    await system.advance(hours=30)
    everything = (await _feed(system, limit=500))["data"]
    assert len(everything) >= 9
    seen: list[str] = []
    cursor = None
    while True:
        page = await _feed(system, after=cursor, limit=4)
        seen += [e["id"] for e in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert seen == [e["id"] for e in everything]
    bad = await system.client.get("/v1/events?after=not-a-cursor", headers=system.auth)
    assert bad.status == 422


async def test_sse_stream_resumes_from_last_event_id(system: System) -> None:
    ret = await system.create()
    await system.advance(hours=2)
    first = (await _feed(system))["data"][0]
    headers = {**system.auth, "Last-Event-ID": first["id"]}
    resp = await system.client.get("/v1/events/stream", headers=headers)
    assert resp.status == 200 and resp.content_type == "text/event-stream"
    seen: list[dict[str, Any]] = []
    while len(seen) < 1:
        line = (await asyncio.wait_for(resp.content.readline(), 5)).decode()
        if line.startswith("data: "):
            seen.append(json.loads(line[6:]))
    assert seen[0]["return_id"] == ret["id"] and seen[0]["id"] > first["id"]
    resp.close()


@pytest.mark.parametrize(("body", "headers", "status"), [
    (b"{}", {"Authorization": "Token wrong"}, 401),
    (b"{}", {}, 401),
    (b'{"Shipment": ', {"Authorization": f"Token {WEBHOOK_SECRET}"}, 400),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
     {"Authorization": f"Token {WEBHOOK_SECRET}"}, 400),
    (b"<x><unclosed></x>", {"Authorization": f"Token {WEBHOOK_SECRET}"}, 400),
    (b"\xff\xfe{}", {"Authorization": f"Token {WEBHOOK_SECRET}"}, 400),
    (b"{" + b" " * 300_000 + b"}", {"Authorization": f"Token {WEBHOOK_SECRET}"}, 413),
], ids=["wrong-token", "no-token", "broken-json", "xml-entities", "broken-xml", "not-utf8", "oversized"])
async def test_bad_webhooks_are_refused_counted_and_not_applied(system: System, body: bytes,
                                                                headers: dict[str, str], status: int) -> None:
    resp = await system.client.post("/webhooks/carriers/delhivery", data=body, headers=headers)
    assert resp.status == status
    assert resp.content_type == "application/problem+json"
    assert await system.redis.xlen(f"{system.prefix}inbound") == 0
    if status != 413:
        metrics = await (await system.client.get("/metrics")).text()
        assert 'backhaul_carrier_webhooks_total{carrier="delhivery",outcome="' in metrics


async def test_unknown_carrier_webhook_is_404(system: System) -> None:
    resp = await system.client.post("/webhooks/carriers/acme", data=b"{}")
    assert resp.status == 404


async def test_well_formed_but_unparseable_body_is_dead_lettered(system: System) -> None:
    resp = await system.client.post("/webhooks/carriers/delhivery", data=b'{"hello": "world"}',
                                    headers={"Authorization": f"Token {WEBHOOK_SECRET}"})
    assert resp.status == 202
    await _drain(system)
    dead = await system.redis.lrange(f"{system.prefix}inbound:dead", 0, -1)
    assert len(dead) == 1 and "hello" in dead[0]


async def test_group_commit_keeps_every_body_byte_for_byte_and_in_order(redis: aioredis.Redis,
                                                                        key_prefix: str) -> None:
    from gateway.inbound_log import GroupCommit, entry_fields

    log = GroupCommit(redis, f"{key_prefix}inbound-test", 1000)
    bodies = ['{"Remarks": "ग्राहक उपलब्ध नहीं"}', '{"note": "客户不在家 🚚"}', '<a b="&quot;"/>', "",
              '"\\u0000 \\" \\\\"']
    ids = await asyncio.gather(*(log.append(entry_fields("delhivery", {"Content-Type": "x"}, b, n))
                                 for n, b in enumerate(bodies)))
    stored = await redis.xrange(f"{key_prefix}inbound-test")
    assert [entry_id for entry_id, _ in stored] == ids  # one batch, appended in the callers' order
    assert [fields["body"] for _, fields in stored] == bodies
    assert [fields["received_ms"] for _, fields in stored] == [str(n) for n in range(len(bodies))]


async def test_group_commit_keeps_one_append_in_flight_and_batches_what_arrives_meanwhile(
        redis: aioredis.Redis, key_prefix: str) -> None:
    from gateway.inbound_log import GroupCommit, entry_fields
    from gateway.store.streams import StreamAppender

    batches: list[int] = []
    redis_is_slow = asyncio.Event()

    class SlowFirst(StreamAppender):
        """The real appender, with the first batch held up as if Redis were slow to answer."""

        async def append(self, stream: str, maxlen: int, entries: Any, pipe: Any = None) -> list[str]:
            batches.append(len(entries))
            if len(batches) == 1:
                await redis_is_slow.wait()
            return await super().append(stream, maxlen, entries, pipe)

    log = GroupCommit(redis, f"{key_prefix}inbound-test", 1000)
    log._appender = SlowFirst(redis)
    tasks = [asyncio.create_task(log.append(entry_fields("delhivery", {}, "first", 0)))]
    for n in range(20):  # each request in its own loop iteration, while the first is in flight
        await asyncio.sleep(0)
        tasks.append(asyncio.create_task(log.append(entry_fields("delhivery", {}, f"b{n}", n))))
    await asyncio.sleep(0)
    redis_is_slow.set()
    ids = await asyncio.gather(*tasks)
    assert batches == [1, 20]
    stored = await redis.xrange(f"{key_prefix}inbound-test")
    assert [entry_id for entry_id, _ in stored] == ids
    assert [fields["body"] for _, fields in stored] == ["first", *(f"b{n}" for n in range(20))]


async def _observer(system: System, stream: str, linger_s: float, batch: int = 200) -> ObserverWorker:
    deps = ObserverDeps(redis=system.redis, stream=stream, store=system.app[keys.RETURNS],
                        ingestor=system.app[keys.INGESTOR], batch=batch, block_ms=2000, linger_s=linger_s)
    worker = ObserverWorker(deps, "linger-test")
    await worker.ensure_group()
    return worker


def _observe_fields(n: int) -> dict[str, str]:
    # A return that does not exist: observed as gone, acknowledged, nothing else.
    return {"mid": "mer_none", "rid": f"ret_gone{n}", "source": "webhook", "event_lines": ""}


async def test_observers_linger_after_a_small_batch_and_take_what_arrived_meanwhile(system: System) -> None:
    stream = f"{system.prefix}observe-linger"
    worker = await _observer(system, stream, linger_s=0.3)
    await system.redis.xadd(stream, _observe_fields(0))

    async def trickle() -> None:
        await asyncio.sleep(0.05)
        for n in range(1, 6):
            await system.redis.xadd(stream, _observe_fields(n))
            await asyncio.sleep(0.01)

    trickling = asyncio.create_task(trickle())
    assert await worker.read_once() == 1
    # Without the linger this read would have found the first of the five on its own.
    assert await worker.read_once() == 5
    await trickling
    assert (await system.redis.xpending(stream, "observers"))["pending"] == 0


async def test_observers_do_not_linger_after_a_full_batch(system: System) -> None:
    stream = f"{system.prefix}observe-full"
    worker = await _observer(system, stream, linger_s=30, batch=3)
    for n in range(3):
        await system.redis.xadd(stream, _observe_fields(n))
    assert await asyncio.wait_for(worker.read_once(), timeout=5) == 3


async def test_a_lingering_observer_stops_at_once(system: System) -> None:
    stream = f"{system.prefix}observe-stop"
    worker = await _observer(system, stream, linger_s=30)
    await system.redis.xadd(stream, _observe_fields(0))
    reading = asyncio.create_task(worker.read_once())
    await asyncio.sleep(0.2)  # the entry is read and observed; the worker lingers now
    worker.stop()
    assert await asyncio.wait_for(reading, timeout=5) == 1
