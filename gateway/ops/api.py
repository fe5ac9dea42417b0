"""`GET /v1/alerts`: the alerts about the calling merchant's own returns, newest first."""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.api.common import json_response, merchant_of
from gateway.problems import Problem

routes = web.RouteTableDef()
_MAX = 200
_STATES = ("firing", "acknowledged", "resolved")


@routes.get("/v1/alerts")
async def merchant_alerts(request: web.Request) -> web.Response:
    merchant = await merchant_of(request)
    state = request.query.get("state")
    if state is not None and state not in _STATES:
        raise Problem(422, "validation-error", "The query is not valid", f"state: one of {', '.join(_STATES)}",
                      [{"field": "state", "message": f"one of {', '.join(_STATES)}", "type": "enum"}])
    try:
        limit = max(1, min(_MAX, int(request.query.get("limit", "50"))))
    except ValueError:
        raise Problem(422, "validation-error", "The query is not valid", "limit: an integer",
                      [{"field": "limit", "message": "an integer", "type": "int_parsing"}]) from None
    found = await request.app[keys.OPS].alerts.recent(_MAX, merchant_id=merchant.id)
    chosen = [a.public() for a in found if state is None or a.state == state][:limit]
    return json_response({"data": chosen})
