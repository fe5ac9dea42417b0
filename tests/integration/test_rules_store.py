"""The rules layer's Redis parts: `backhaul serviceability load`, learned outcomes, capacity caps."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from gateway.rules.capacity import Capacity
from gateway.rules.config import Learning
from gateway.rules.learning import OutcomeLog
from gateway.rules.serviceability import ServiceabilityTables, read_snapshot
from gateway.store.keys import Keys
from tests.integration.conftest import START, System

ROOT = Path(__file__).parents[2]
CSV = """\
# test table
postcode,pickup,delivery
560001,1,1
421302,0,1
country:US,1,0
05600,1,1
110001,maybe,1
"""


def test_serviceability_load_command(tmp_path: Path, redis_url: str, key_prefix: str) -> None:
    path = tmp_path / "acme.csv"
    path.write_text(CSV, encoding="utf-8")
    env = {**os.environ, "BACKHAUL_REDIS_URL": redis_url, "BACKHAUL_KEY_PREFIX": key_prefix}
    done = subprocess.run([sys.executable, "-m", "gateway", "serviceability", "load", "acme", str(path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "acme: 3 rows loaded, 2 skipped" in done.stdout
    assert "100% 7/7 rows" in done.stderr
    assert "line 6: '05600' is not a six-digit PIN" in done.stderr
    assert "line 7: pickup and delivery are 1 or 0" in done.stderr


async def test_loaded_table_reaches_the_snapshot(tmp_path: Path, redis_url: str, redis: aioredis.Redis,
                                                 key_prefix: str) -> None:
    test_serviceability_load_command(tmp_path, redis_url, key_prefix)
    snapshot = await read_snapshot(redis, Keys(key_prefix))
    assert snapshot.serves("acme", ("IN", "560001"), ("IN", "421302")) is True
    assert snapshot.serves("acme", ("IN", "421302"), ("IN", "560001")) is False  # no pickup at 421302
    assert snapshot.serves("acme", ("US", "10001"), ("IN", "421302")) is True
    assert snapshot.serves("other", ("IN", "560001"), ("IN", "421302")) is None
    tables = ServiceabilityTables(redis, Keys(key_prefix))
    assert (await tables.current()).version == snapshot.version
    assert await redis.memory_usage(Keys(key_prefix).serviceability("acme")) > 225_000


async def test_outcomes_are_decayed_and_smoothed(redis: aioredis.Redis, key_prefix: str) -> None:
    cfg = Learning(half_life_days=30)
    log = OutcomeLog(redis, Keys(key_prefix), cfg, ["acme"], check_every_s=0)
    for i in range(40):
        await log.record_outcome("acme", "560001", i % 4 != 0, 3600.0 * 24, START)
    await log.record_outcome("acme", "110001", False, None, START)
    snapshot = await log.current()
    est = snapshot.estimate("acme", "560", START.timestamp(), cfg)
    assert 0.75 < est.success_rate < 0.8 and est.attempts == 40  # 30/40 pulled a little towards 0.85
    assert 24 < est.turnaround_h < 30
    later = snapshot.estimate("acme", "560", (START + timedelta(days=60)).timestamp(), cfg)
    assert est.success_rate < later.success_rate and later.attempts == 10  # two half-lives
    assert snapshot.estimate("acme", "999", START.timestamp(), cfg).attempts == 0


async def test_capacity_is_shared_and_released(redis: aioredis.Redis, key_prefix: str) -> None:
    one, two = Capacity(redis, Keys(key_prefix), {"acme": 2}), Capacity(redis, Keys(key_prefix), {"acme": 2})
    assert await one.reserve("acme", START) and await two.reserve("acme", START)
    assert not await one.reserve("acme", START)
    assert await two.full(START) == frozenset({"acme"})
    await one.release("acme", START)
    assert await two.full(START) == frozenset() and await two.reserve("acme", START)
    assert await one.reserve("acme", START + timedelta(days=1))  # a new day, a new count
    ttl = await redis.ttl(Keys(key_prefix).capacity("acme", START.date().isoformat()))
    assert 0 < ttl


async def test_observe_records_pickup_outcomes_of_a_tracked_return(system: System) -> None:
    from gateway import keys

    system.control.set_scenario("pickup_failed", reason_code="EOD-11")
    created = await system.create()
    for _ in range(10):
        await system.advance(hours=8)
    store, outcomes = system.app[keys.RETURNS], system.app[keys.RULES].outcomes
    ret = await store.get(system.merchant.id, created["id"])
    assert ret is not None
    # The ingest path observed both attempts (one failed, one picked up) as they were applied.
    outcomes.check_every_s = 0
    est = (await outcomes.current()).estimate("delhivery", "560", system.clock.now().timestamp(), outcomes.cfg)
    assert 1.8 < est.attempts <= 2 and est.success_rate < 0.85  # two attempts, a day or two old


async def test_tables_load_from_config_at_start(aiohttp_client: Any, aiohttp_server: Any, redis_url: str,
                                                redis: aioredis.Redis, key_prefix: str) -> None:
    from carriers.delhivery import sandbox as delhivery_sandbox
    from gateway.app import create_app
    from tests.integration.conftest import sandbox_settings

    sandbox = await aiohttp_server(delhivery_sandbox.make_app())
    settings = sandbox_settings(str(sandbox.make_url("")).rstrip("/"), key_prefix, serviceability_autoload=True)
    await aiohttp_client(create_app(settings, redis_url))
    assert await redis.hexists(Keys(key_prefix).serviceability_meta(), "delhivery")
    snapshot = await read_snapshot(redis, Keys(key_prefix))
    assert snapshot.serves("delhivery", ("IN", "560001"), ("IN", "421302")) is True
