"""`/t/{token}/live`: this return's new events as Server-Sent Events, read from the merchant feed.

The stream ends after `STREAM_LIFETIME_S`; the browser's EventSource reconnects by itself with
`Last-Event-ID` (a feed stream id), so nothing is missed across reconnects.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import cast

from aiohttp import web

from gateway import keys
from gateway.pages.tracking import load
from gateway.store.keys import Keys
from normalizers.taxonomy import TrackingEvent

routes = web.RouteTableDef()
# Short blocking reads so a closed page or a shutdown is noticed within a couple of seconds.
BLOCK_MS = 2000
KEEPALIVE_S = 15.0
STREAM_LIFETIME_S = 300.0
Batches = list[tuple[str, list[tuple[str, dict[str, str]]]]]
_STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")


async def _start_id(request: web.Request, feed: str) -> str:
    """Where to read from: after Last-Event-ID when the browser reconnects, else after the newest entry."""
    last = request.headers.get("Last-Event-ID", "")
    if _STREAM_ID.match(last):
        return last
    newest = await request.app[keys.REDIS].xrevrange(feed, count=1)
    return str(newest[0][0]) if newest else "0-0"


def _message(entry_id: str, event: TrackingEvent) -> bytes:
    data = json.dumps({"status": event.status.value, "occurred_at": event.occurred_at.isoformat()})
    return f"id: {entry_id}\nevent: tracking\ndata: {data}\n\n".encode()


def _is_open(request: web.Request) -> bool:
    """Whether the browser is still there; checked after every read, so a closed page ends the loop."""
    return request.transport is not None and not request.transport.is_closing()


@routes.get("/t/{token}/live")
async def live(request: web.Request) -> web.StreamResponse:
    found = await load(request)
    if isinstance(found, web.Response):
        return found
    ret, _ = found
    redis = request.app[keys.REDIS]
    feed = Keys(request.app[keys.SETTINGS].key_prefix).feed(ret.merchant_id)
    cursor = await _start_id(request, feed)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    await response.write(b"retry: 3000\n\n")
    loop = asyncio.get_running_loop()
    ends_at, quiet_since = loop.time() + STREAM_LIFETIME_S, loop.time()
    try:
        while loop.time() < ends_at and _is_open(request):
            batches = cast(Batches, await redis.xread({feed: cursor}, count=100, block=BLOCK_MS))
            for _stream, entries in batches or []:
                for entry_id, fields in entries:
                    cursor = str(entry_id)
                    if fields.get("return_id") == ret.id and "event" in fields:
                        await response.write(_message(cursor, TrackingEvent.model_validate_json(fields["event"])))
                        quiet_since = loop.time()
            if loop.time() - quiet_since >= KEEPALIVE_S:
                await response.write(b": keepalive\n\n")
                quiet_since = loop.time()
    except ConnectionResetError:
        # The page was closed: the next write after the blocking read noticed it.
        pass
    return response
