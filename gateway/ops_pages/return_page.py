"""`GET /ops/returns/{rid}`: one return as ops sees it, across merchants.

Status and shipment, why the carriers were ranked as they were (the stored allocation decision),
every booking attempt, the audit trail and the unified timeline of tracking events.
"""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.api.photos import photo_store
from gateway.models import Return
from gateway.ops_pages.auth import Session, required
from gateway.ops_pages.lists import merchant_names
from gateway.ops_pages.views import page
from gateway.store.keys import Keys
from gateway.store.owners import owner_of
from normalizers.machine import ordered

routes = web.RouteTableDef()
CRITERIA = ("cost", "reliability", "speed", "preference")


async def _find(request: web.Request, rid: str) -> Return | None:
    k = Keys(request.app[keys.SETTINGS].key_prefix)
    mid = await owner_of(request.app[keys.REDIS], k, rid)
    return await request.app[keys.RETURNS].get(mid, rid) if mid else None


def _missing(request: web.Request, session: Session, rid: str) -> web.Response:
    response = page(request, session, "return_missing.html", "", rid=rid)
    response.set_status(404)
    return response


@routes.get("/ops/returns/{rid}")
@required
async def return_page(request: web.Request, session: Session) -> web.Response:
    rid = request.match_info["rid"]
    ret = await _find(request, rid)
    if ret is None:
        return _missing(request, session, rid)
    events = ordered(await request.app[keys.RETURNS].events(ret.merchant_id, ret.id))
    names = await merchant_names(request, [ret.merchant_id])
    photos = await photo_store(request.app).list(ret)
    return page(request, session, "return.html", "", ret=ret, merchant=names[ret.merchant_id],
                decision=ret.allocation, criteria=CRITERIA, events=events, photos=photos,
                when=lambda at: at.strftime("%Y-%m-%d %H:%M"))

