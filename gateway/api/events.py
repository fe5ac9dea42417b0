"""The merchant's unified feed: `GET /v1/events` (cursor pages) and `GET /v1/events/stream` (SSE).

The feed is a Redis stream per merchant; an entry's stream id is its cursor, so pages are
stable and an SSE client resumes exactly where it stopped with `Last-Event-ID`.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from aiohttp import web

from gateway import keys
from gateway.api.common import json_response, merchant_of
from gateway.problems import Problem
from gateway.store.keys import Keys
from gateway.store.server import last_entry_id, xrange_entries, xread_entries

routes = web.RouteTableDef()
_CURSOR = re.compile(r"^\d{1,20}-\d{1,20}$")
_MAX_LIMIT = 500
_HEARTBEAT_S = 15.0


def entry_json(entry_id: str, fields: dict[str, str]) -> dict[str, Any]:
    return {"id": entry_id, "type": fields["type"], "return_id": fields["return_id"],
            "order_id": fields["order_id"], "return_status": fields["return_status"],
            "event": json.loads(fields["event"])}


def _cursor(value: str | None, field: str) -> str | None:
    if value is None or value == "":
        return None
    if value != "0" and not _CURSOR.match(value):
        raise Problem(422, "validation-error", "The cursor is not valid", f"{field}: not a feed cursor",
                      [{"field": field, "message": "not a feed cursor", "type": "value_error"}])
    return value


def _limit(request: web.Request) -> int:
    try:
        limit = int(request.query.get("limit", "100"))
    except ValueError as exc:
        raise Problem(422, "validation-error", "limit must be a whole number",
                      errors=[{"field": "limit", "message": "not an integer", "type": "int_parsing"}]) from exc
    return max(1, min(limit, _MAX_LIMIT))


@routes.get("/v1/events")
async def list_events(request: web.Request) -> web.Response:
    merchant = await merchant_of(request)
    after = _cursor(request.query.get("after"), "after")
    limit = _limit(request)
    redis = request.app[keys.REDIS]
    stream = Keys(request.app[keys.SETTINGS].key_prefix).feed(merchant.id)
    start = f"({after}" if after and after != "0" else "-"
    entries = await xrange_entries(redis, stream, start, limit)
    data = [entry_json(i, f) for i, f in entries]
    next_cursor = data[-1]["id"] if data else after
    return json_response({"data": data, "next_cursor": next_cursor, "has_more": len(data) == limit})


@routes.get("/v1/events/stream")
async def stream_events(request: web.Request) -> web.StreamResponse:
    merchant = await merchant_of(request)
    after = _cursor(request.headers.get("Last-Event-ID") or request.query.get("after"), "Last-Event-ID") or "$"
    redis = request.app[keys.REDIS]
    stream = Keys(request.app[keys.SETTINGS].key_prefix).feed(merchant.id)
    if after == "$":
        # Start from what exists now, so nothing written between this read and the first XREAD is lost.
        after = await last_entry_id(redis, stream)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    await response.write(b"retry: 2000\n\n")
    while True:
        entries = await xread_entries(redis, stream, after, 100, int(_HEARTBEAT_S * 1000))
        if not entries:
            await response.write(b": keep-alive\n\n")
            continue
        for entry_id, fields in entries:
            body = json.dumps(entry_json(entry_id, fields), separators=(",", ":"))
            await response.write(f"id: {entry_id}\nevent: {fields['type']}\ndata: {body}\n\n".encode())
            after = entry_id
        await asyncio.sleep(0)
