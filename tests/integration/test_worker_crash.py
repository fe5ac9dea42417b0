"""kill -9 of an inbound worker in the middle of a stream of webhooks: nothing lost, nothing fed twice.

Real processes and real Redis: webhooks go through the gateway's HTTP handler into the
inbound stream; worker A (a `backhaul worker` process) is killed with SIGKILL while it holds
unacknowledged entries; worker B reclaims them with XAUTOCLAIM.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis

from carriers.clock import SystemClock
from gateway.app import create_app
from gateway.models import Shipment
from gateway.store.keys import Keys
from gateway.store.returns import ReturnStore
from tests.integration.conftest import WEBHOOK_SECRET, sandbox_settings
from tests.integration.test_apply_properties import _return

SCANS = [("PP", "Open", "X-UCI"), ("PP", "Scheduled", "FMPUR-101"), ("PP", "Dispatched", "FMOFP-101"),
         ("PU", "In Transit", "EOD-77"), ("PU", "In Transit", "X-IBD3F"), ("PU", "Pending", "X-IBD3F"),
         ("PU", "Dispatched", "X-DDD3FD"), ("DL", "DTO", "EOD-38")]
RETURNS = 40


def _push(awb: str, i: int) -> bytes:
    kind, status, nsl = SCANS[i]
    at = datetime(2026, 11, 2, 10, 0) + timedelta(hours=6 * i)
    return json.dumps({"Shipment": {"AWB": awb, "NSLCode": nsl, "Status": {
        "Status": status, "StatusType": kind, "StatusDateTime": at.strftime("%Y-%m-%dT%H:%M:%S.000"),
        "StatusLocation": "Bengaluru_Hub (Karnataka)", "Instructions": status}}}).encode()


def _start_worker(redis_url: str, prefix: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKHAUL_")}
    env.update({"BACKHAUL_REDIS_URL": redis_url, "BACKHAUL_KEY_PREFIX": prefix,
                "BACKHAUL_INBOUND_RECLAIM_IDLE_S": "1", "BACKHAUL_POLL_INTERVAL_S": "86400"})
    return subprocess.Popen([sys.executable, "-m", "gateway", "worker", "--metrics-port", "0"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _group(redis: aioredis.Redis, stream: str) -> dict[str, Any]:
    groups = await redis.xinfo_groups(stream)
    return dict(groups[0]) if groups else {"pending": 0, "last-delivered-id": "0-0"}


async def _wait_until_taken(redis: aioredis.Redis, stream: str) -> None:
    """Until a worker holds entries it has not acknowledged yet."""
    for _ in range(400):
        group = await _group(redis, stream)
        if int(group["pending"]) > 0 and group["last-delivered-id"] != "0-0":
            return
        await asyncio.sleep(0.01)
    raise AssertionError("worker A never took an entry")


async def _wait_until_drained(redis: aioredis.Redis, stream: str) -> None:
    group: dict[str, Any] = {}
    for _ in range(600):
        group = await _group(redis, stream)
        last = (await redis.xinfo_stream(stream))["last-generated-id"]
        if int(group["pending"]) == 0 and group["last-delivered-id"] == last:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"stream not drained: {group}")


async def test_kill_9_mid_stream_loses_nothing_and_feeds_each_event_once(
        aiohttp_client: Any, redis_url: str, redis: aioredis.Redis, key_prefix: str) -> None:
    keys = Keys(key_prefix)
    store = ReturnStore(redis, keys, SystemClock())
    awbs = [f"149{n:011d}" for n in range(RETURNS)]
    for n, awb in enumerate(awbs):
        ret = _return(f"r{n}").model_copy(update={"shipment": Shipment(
            carrier="delhivery", awb=awb, booked_at=datetime.now(UTC))})
        await store.insert(ret)
        await store.index_awb(ret)
    settings = sandbox_settings("http://127.0.0.1:9", key_prefix)
    gateway = await aiohttp_client(create_app(settings, redis_url))
    headers = {"Authorization": f"Token {WEBHOOK_SECRET}"}
    for i in range(len(SCANS)):  # every return's scans, interleaved, twice (carriers resend)
        for awb in awbs:
            for _ in range(2):
                assert (await gateway.post("/webhooks/carriers/delhivery", data=_push(awb, i),
                                           headers=headers)).status == 202
    stream = keys.inbound()
    total = await redis.xlen(stream)
    assert total == RETURNS * len(SCANS) * 2

    worker_a = _start_worker(redis_url, key_prefix)
    try:
        await _wait_until_taken(redis, stream)
        os.kill(worker_a.pid, signal.SIGKILL)
        worker_a.wait(timeout=10)
        left_pending = int((await _group(redis, stream))["pending"])
        worker_b = _start_worker(redis_url, key_prefix)
        try:
            await _wait_until_drained(redis, stream)
        finally:
            worker_b.terminate()
            worker_b.wait(timeout=10)
    finally:
        if worker_a.poll() is None:
            worker_a.kill()
    feed = await redis.xrange(keys.feed("m1"))
    fingerprints = [json.loads(f["event"])["fingerprint"] for _, f in feed]
    assert len(fingerprints) == len(set(fingerprints)) == RETURNS * len(SCANS)
    for n in range(RETURNS):
        ret = await store.get("m1", f"r{n}")
        assert ret is not None and ret.state.status.value == "delivered"
    print(f"entries pending at the kill: {left_pending}")
