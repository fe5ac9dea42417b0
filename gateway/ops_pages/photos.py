"""`GET /ops/returns/{rid}/photos/{pid}`: a customer's photo for ops, behind the console login.

The merchant API serves the same bytes under its API key (gateway/api/photos.py); ops has no
API key and sees every merchant's returns, so it gets its own route.
"""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.api.photos import image_response, photo_store
from gateway.ops_pages.auth import Session, required
from gateway.store.keys import Keys
from gateway.store.owners import owner_of

routes = web.RouteTableDef()


@routes.get("/ops/returns/{rid}/photos/{pid}")
@required
async def photo(request: web.Request, session: Session) -> web.Response:
    rid, pid = request.match_info["rid"], request.match_info["pid"]
    mid = await owner_of(request.app[keys.REDIS], Keys(request.app[keys.SETTINGS].key_prefix), rid)
    data = await photo_store(request.app).get(mid, rid, pid) if mid else None
    if data is None:
        raise web.HTTPNotFound(text="No such photo")
    return image_response(request, data, pid)
