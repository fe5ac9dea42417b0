"""An open-loop HTTP/1.1 load generator that costs the machine little.

The feed-latency benchmark runs the load generator on the machine under test; with aiohttp's
client it took 40% of a core at 1,000 requests/s, CPU the gateway and worker then lacked. This
one writes prepared requests on keep-alive connections and reads just the status line and
Content-Length of each answer: a tenth of that.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence


class _Connection(asyncio.Protocol):
    """One keep-alive connection, one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = b""
        self._waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0 or self._waiter is None:
            return
        head = self._buffer[:end].decode("latin-1").split("\r\n")
        length = next((int(line.split(":", 1)[1]) for line in head[1:]
                       if line.lower().startswith("content-length:")), 0)
        if len(self._buffer) < end + 4 + length:
            return
        self._buffer = self._buffer[end + 4 + length:]
        waiter, self._waiter = self._waiter, None
        waiter.set_result(int(head[0].split(" ", 2)[1]))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc or ConnectionError("connection closed"))

    async def request(self, raw: bytes) -> int:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await self._waiter


def post_request(host: str, port: int, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}",
             *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def send_at_rate(host: str, port: int, requests: Sequence[tuple[str, bytes]], rate_per_s: float,
                       connections: int = 64) -> dict[str, tuple[int, float]]:
    """Send each (key, raw request) at its slot of a fixed rate; per key, the status and when it came back."""
    loop = asyncio.get_running_loop()
    idle: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(connections):
        _, conn = await loop.create_connection(_Connection, host, port)
        idle.put_nowait(conn)
    answered: dict[str, tuple[int, float]] = {}

    async def one(key: str, raw: bytes) -> None:
        conn = await idle.get()
        try:
            answered[key] = (await conn.request(raw), time.monotonic())
        finally:
            idle.put_nowait(conn)

    start, tasks = time.monotonic(), []
    for i, (key, raw) in enumerate(requests):
        delay = start + i / rate_per_s - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(key, raw)))
    await asyncio.gather(*tasks)
    while not idle.empty():
        conn = idle.get_nowait()
        if conn.transport is not None:
            conn.transport.close()
    return answered
