"""Merchant API: the photos a customer attached to a return in the portal.

`GET /v1/returns/{id}/photos` lists them (id, sku and line index, size, download URL);
`GET /v1/returns/{id}/photos/{photo_id}` is the JPEG itself. Photos never change once
stored (ids are random and new per upload), so the ETag is the content's hash and a
revalidation with `If-None-Match` costs no body.
"""

from __future__ import annotations

import hashlib

from aiohttp import web

from gateway import keys
from gateway.api.common import json_response, merchant_of
from gateway.models import Return
from gateway.problems import Problem
from gateway.store.keys import Keys
from gateway.store.photos import PhotoStore

routes = web.RouteTableDef()
# Private: a customer's photo must not sit in a shared cache; a day is fine for the merchant's own.
CACHE_CONTROL = "private, max-age=86400"


def photo_store(app: web.Application) -> PhotoStore:
    return PhotoStore(app[keys.REDIS], Keys(app[keys.SETTINGS].key_prefix))


def etag_of(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def image_response(request: web.Request, data: bytes, pid: str) -> web.Response:
    """The JPEG with its ETag, or 304 when the caller already has it."""
    etag = etag_of(data)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff",
               "Content-Disposition": f'inline; filename="{pid}.jpg"',
               "Content-Security-Policy": "default-src 'none'; sandbox"}
    wanted = {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}
    if etag in wanted or "*" in wanted:
        return web.Response(status=304, headers=headers)
    return web.Response(body=data, content_type="image/jpeg", headers=headers)


async def _return_of(request: web.Request) -> Return:
    """Raises: Problem 404 for an unknown id or another merchant's return (the same answer)."""
    merchant = await merchant_of(request)
    rid = request.match_info["return_id"]
    ret = await request.app[keys.RETURNS].get(merchant.id, rid)
    if ret is None:
        raise Problem(404, "not-found", "No such return", rid)
    return ret


@routes.get("/v1/returns/{return_id}/photos")
async def list_photos(request: web.Request) -> web.Response:
    ret = await _return_of(request)
    base = request.app[keys.SETTINGS].public_url.rstrip("/")
    photos = await photo_store(request.app).list(ret)
    return json_response({"data": [{"id": p.id, "sku": p.sku, "line": p.line, "bytes": p.bytes,
                                    "content_type": "image/jpeg",
                                    "url": f"{base}/v1/returns/{ret.id}/photos/{p.id}"} for p in photos]})


@routes.get("/v1/returns/{return_id}/photos/{photo_id}")
async def get_photo(request: web.Request) -> web.Response:
    ret = await _return_of(request)
    pid = request.match_info["photo_id"]
    data = await photo_store(request.app).get(ret.merchant_id, ret.id, pid)
    if data is None:
        raise Problem(404, "not-found", "No such photo", pid)
    return image_response(request, data, pid)
