"""Merchant API: the tracking page's branding, its recommendation clicks, tracking-token rotation."""

from __future__ import annotations

from typing import cast

from aiohttp import web

from gateway import keys
from gateway.api.common import json_response, merchant_of, parse_json, public_base, validate
from gateway.models import Return, new_token
from gateway.pages.branding import Branding
from gateway.problems import Problem
from gateway.store.keys import Keys

routes = web.RouteTableDef()


@routes.get("/v1/branding")
async def get_branding(request: web.Request) -> web.Response:
    merchant = await merchant_of(request)
    return json_response(Branding.of(merchant).model_dump(mode="json"))


@routes.put("/v1/branding")
async def put_branding(request: web.Request) -> web.Response:
    """Replace the whole branding document; fields left out go back to their defaults."""
    merchant = await merchant_of(request)
    branding = validate(Branding, parse_json(await request.read()))
    updated = branding.applied_to(merchant)
    redis = request.app[keys.REDIS]
    await redis.set(Keys(request.app[keys.SETTINGS].key_prefix).merchant(merchant.id), updated.model_dump_json())
    return json_response(Branding.of(updated).model_dump(mode="json"))


@routes.get("/v1/branding/recommendations/clicks")
async def recommendation_clicks(request: web.Request) -> web.Response:
    merchant = await merchant_of(request)
    key = Keys(request.app[keys.SETTINGS].key_prefix).page_clicks(merchant.id)
    counts = cast(dict[str, str], await request.app[keys.REDIS].hgetall(key))
    return json_response({"data": {rid: int(n) for rid, n in counts.items()}})


@routes.post("/v1/returns/{return_id}/tracking-token/rotate")
async def rotate_token(request: web.Request) -> web.Response:
    """A new page token for a return; the old link stops working at once."""
    merchant = await merchant_of(request)
    store = request.app[keys.RETURNS]
    rid = request.match_info["return_id"]
    if await store.get(merchant.id, rid) is None:
        raise Problem(404, "not-found", "No such return", rid)
    fresh = new_token()
    old: list[str] = []

    def rotated(ret: Return) -> Return:
        old[:] = [ret.tracking_token]
        return ret.model_copy(update={"tracking_token": fresh})

    updated = await store.update(merchant.id, rid, rotated)
    k = Keys(request.app[keys.SETTINGS].key_prefix)
    async with request.app[keys.REDIS].pipeline(transaction=True) as pipe:
        pipe.set(k.token(fresh), f"{merchant.id} {rid}")
        pipe.delete(k.token(old[-1]))
        await pipe.execute()
    return json_response(updated.public(public_base(request, merchant)))
