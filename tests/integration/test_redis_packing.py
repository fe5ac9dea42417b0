"""The Redis client Backhaul makes: commands packed by hiredis exactly as redis-py would write
them, and a pool that still never hands out a closed or dirty connection."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from redis._parsers.encoders import Encoder
from redis.asyncio.connection import Connection
from redis.exceptions import DataError, MaxConnectionsError

from gateway.store.server import _packed_by_hiredis, client_for

VALUES = ["plain", "ünïcødé ✓", b"\x00\xffbytes", "", 0, -7, 2**70, 1.5, 0.1, 1 / 3, 1e20, float("inf")]


def _by_redis_py(*args: object) -> bytes:
    """The protocol as redis-py's Python encoder writes it, for comparison."""
    encoder = Encoder("utf-8", "strict", False)
    parts = [encoder.encode(a) for a in args]  # type: ignore[arg-type]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


def test_every_value_is_written_as_redis_py_writes_it() -> None:
    connection = _packed_by_hiredis(Connection)()
    for value in VALUES:
        assert b"".join(connection.pack_command("SET", "k", value)) == _by_redis_py("SET", "k", value), value


def test_a_command_name_of_two_words_is_sent_as_two_arguments() -> None:
    connection = _packed_by_hiredis(Connection)()
    assert b"".join(connection.pack_command("CONFIG GET", "maxmemory")) == _by_redis_py("CONFIG", "GET", "maxmemory")
    assert b"".join(connection.pack_command(b"SCRIPT LOAD", "return 1")) == _by_redis_py("SCRIPT", "LOAD", "return 1")


def test_a_pipeline_is_the_commands_one_after_the_other() -> None:
    connection = _packed_by_hiredis(Connection)()
    packed = b"".join(connection.pack_commands([("GET", "a"), ("HSET", "h", "f", 1.5)]))
    assert packed == _by_redis_py("GET", "a") + _by_redis_py("HSET", "h", "f", 1.5)


@pytest.mark.parametrize("value", [True, None])
def test_values_redis_py_refuses_are_refused(value: object) -> None:
    connection = _packed_by_hiredis(Connection)()
    with pytest.raises(DataError):
        connection.pack_command("SET", "k", value)


async def test_values_round_trip_through_a_real_redis(redis_url: str, key_prefix: str) -> None:
    client: aioredis.Redis = client_for(redis_url)
    try:
        assert client.connection_pool.connection_class.__name__.startswith("Hiredis")
        texts = [v for v in VALUES if not isinstance(v, bytes)]  # the client decodes replies as UTF-8
        async with client.pipeline(transaction=True) as pipe:
            for i, value in enumerate(texts):
                pipe.set(f"{key_prefix}v{i}", value)
            await pipe.execute()
        stored = await client.mget([f"{key_prefix}v{i}" for i in range(len(texts))])
        assert stored == [repr(v) if isinstance(v, float) else str(v) for v in texts]
        # A script's text and arguments, as the feed commit sends them.
        assert await client.eval("return ARGV[1] .. ARGV[2]", 0, "ü", 7) == "ü7"
    finally:
        await client.aclose()


def test_a_client_with_another_encoding_keeps_redis_pys_encoder(redis_url: str) -> None:
    client = client_for(redis_url, encoding="latin-1")
    assert not client.connection_pool.connection_class.__name__.startswith("Hiredis")
    assert b"".join(client.connection_pool.make_connection().pack_command("SET", "k", "é")).endswith(b"\xe9\r\n")


async def test_a_connection_the_server_closed_is_replaced(redis_url: str, key_prefix: str) -> None:
    client = client_for(redis_url)
    try:
        await client.set(f"{key_prefix}k", "v")
        own_id = await client.client_id()
        killer = client_for(redis_url)
        await killer.client_kill_filter(_id=own_id)
        await killer.aclose()
        await asyncio.sleep(0.05)  # the loop sees the end of the stream
        assert await client.get(f"{key_prefix}k") == "v"
        assert await client.client_id() != own_id
    finally:
        await client.aclose()


async def test_a_connection_with_an_unread_reply_is_not_handed_out_as_is(redis_url: str, key_prefix: str) -> None:
    client = client_for(redis_url, max_connections=1)
    try:
        await client.set(f"{key_prefix}k", "value")
        pool = client.connection_pool
        connection = await pool.get_connection()
        await connection.send_command("PING")  # its reply is never read
        await pool.release(connection)
        await asyncio.sleep(0.05)  # the reply arrives in the connection's buffer
        assert await client.get(f"{key_prefix}k") == "value"  # not the stale PONG
    finally:
        await client.aclose()


async def test_the_pool_still_refuses_more_connections_than_its_limit(redis_url: str) -> None:
    client = client_for(redis_url, max_connections=1)
    try:
        held = await client.connection_pool.get_connection()
        with pytest.raises(MaxConnectionsError):
            await client.connection_pool.get_connection()
        await client.connection_pool.release(held)
        assert await client.ping()
    finally:
        await client.aclose()
