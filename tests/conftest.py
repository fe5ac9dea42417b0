"""Shared fixtures: a real Redis (embedded by default, REDIS_URL for another) and a key prefix per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from gateway.store.server import EmbeddedRedis, client_for


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Redis server for the session; tests stay apart by key prefix, never by flushing."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    embedded = EmbeddedRedis(Path(tmp_path_factory.mktemp("redis")))
    yield embedded.start()
    embedded.stop()


@pytest.fixture
def key_prefix() -> str:
    return f"bht:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def redis(redis_url: str, key_prefix: str) -> AsyncIterator[aioredis.Redis]:
    client = client_for(redis_url)
    yield client
    keys = [k async for k in client.scan_iter(match=f"{key_prefix}*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()
