"""The inbound stream: raw carrier webhook bodies, appended with group commit.

One append is in flight at a time: the requests that arrive while it is (or in one event-loop
iteration) are written together in the next round trip, and each request is answered only
after its own entry is acknowledged by Redis. The batch goes as one command
(gateway/store/streams.py), not one XADD per request. The handler does little else, so ingest
stays close to a bare handler's rate.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis

from carriers.errors import StoreError
from gateway.store.streams import StreamAppender

# Headers a carrier's parse_webhook may need; everything else is dropped before storage.
KEPT_HEADERS = ("content-type", "x-event-type", "x-shadowfax-event", "x-ekart-event")


def entry_fields(carrier: str, headers: Mapping[str, str], body: str, received_ms: int) -> dict[str, str]:
    kept = {k: v for k, v in ((k.lower(), v) for k, v in headers.items()) if k in KEPT_HEADERS}
    return {"carrier": carrier, "body": body, "headers": json.dumps(kept), "received_ms": str(received_ms)}


class GroupCommit:
    """One append to the inbound stream in flight at a time; what arrives meanwhile is the next batch.

    At a low rate each request goes alone, at once. Under load the batches grow with Redis's
    round-trip time instead of the number of commands growing with the request rate.
    """

    def __init__(self, redis: aioredis.Redis, stream: str, maxlen: int) -> None:
        # One append at a time needs one connection: kept for good, it skips the pool's
        # checkout and its check of the socket on every call.
        self.redis = aioredis.Redis(connection_pool=redis.connection_pool, single_connection_client=True)
        self._appender = StreamAppender(self.redis)
        self.stream = stream
        self.maxlen = maxlen
        self._pending: list[tuple[dict[str, str], asyncio.Future[str]]] = []
        self._sending: asyncio.Task[None] | None = None

    async def append(self, fields: dict[str, str]) -> str:
        """The entry id, once Redis has it. Raises: StoreError."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        if not self._pending and self._sending is None:
            # Sent on the next loop iteration, with every request that arrives in this one.
            loop.call_soon(self._flush)
        self._pending.append((fields, future))
        return await future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        self._sending = asyncio.create_task(self._send(batch))
        self._sending.add_done_callback(self._sent)

    def _sent(self, _task: asyncio.Task[None]) -> None:
        self._sending = None
        if self._pending:
            self._flush()

    async def aclose(self) -> None:
        """Give the connection back to the pool."""
        await self.redis.aclose(close_connection_pool=False)

    async def _send(self, batch: list[tuple[dict[str, str], asyncio.Future[str]]]) -> None:
        try:
            ids: list[Any] = list(await self._appender.append(self.stream, self.maxlen, [f for f, _ in batch]))
        except Exception as exc:
            ids = [exc] * len(batch)
        for (_, future), result in zip(batch, ids, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(StoreError(f"could not append to the inbound stream: {result}"))
            else:
                future.set_result(str(result))
