"""Returns the policy sends to review: list them, approve (which books the pickup) or reject."""

from __future__ import annotations

from typing import Any, cast

from aiohttp import web

from gateway import keys
from gateway.api.common import json_response, merchant_of, parse_json, public_base
from gateway.api.returns import idempotent
from gateway.ingest import merchant_cancel_event
from gateway.models import AuditEntry, Merchant, Return
from gateway.problems import Problem
from gateway.store.server import text

routes = web.RouteTableDef()
_MAX_LIST = 100


@routes.get("/v1/reviews")
async def pending(request: web.Request) -> web.Response:
    """Returns waiting for review, oldest first."""
    merchant = await merchant_of(request)
    store = request.app[keys.RETURNS]
    found = await store.redis.zrange(store.keys.reviews(merchant.id), 0, _MAX_LIST - 1)
    ids = [text(m) for m in cast(list[Any], found)]
    docs = await store.redis.mget([store.keys.return_doc(merchant.id, rid) for rid in ids]) if ids else []
    base = public_base(request, merchant)
    return json_response({"data": [Return.model_validate_json(d).public(base) for d in docs if d]})


def _note(raw: bytes) -> str:
    if not raw.strip():
        return ""
    body = parse_json(raw)
    note = body.get("note", "") if isinstance(body, dict) else None
    if not isinstance(note, str) or len(note) > 500:
        raise Problem(422, "validation-error", "The request body is not valid", "note: a string of at most 500",
                      [{"field": "note", "message": "a string of at most 500 characters", "type": "string_type"}])
    return note


async def _decide(request: web.Request, merchant: Merchant, verdict: str, note: str) -> Return:
    """Move the review from pending to `verdict` atomically; only one caller wins. Raises: Problem 404/409."""
    store, now = request.app[keys.RETURNS], request.app[keys.CLOCK].now()
    rid = request.match_info["return_id"]
    if await store.get(merchant.id, rid) is None:
        raise Problem(404, "not-found", "No such return", rid)

    def change(r: Return) -> Return:
        if r.review is None or r.review.status != "pending":
            state = r.review.status if r.review else "not reviewed"
            raise Problem(409, "not-in-review", "The return is not waiting for review", f"review: {state}")
        entry = AuditEntry(at=now, action=verdict, actor=f"merchant:{merchant.id}", detail=note)
        review = r.review.model_copy(update={"status": verdict, "decided_at": now, "note": note})
        return r.model_copy(update={"review": review, "audit": [*r.audit, entry]})

    ret = await store.update(merchant.id, rid, change)
    await store.redis.zrem(store.keys.reviews(merchant.id), rid)
    return ret


@routes.post("/v1/returns/{return_id}/approve")
async def approve(request: web.Request) -> web.Response:
    merchant = await merchant_of(request)
    raw = await request.read()
    note = _note(raw)

    async def work() -> tuple[int, dict[str, Any]]:
        ret = await _decide(request, merchant, "approved", note)
        ret = await request.app[keys.BOOKER].retry(ret, merchant)
        return (201 if ret.shipment else 202), ret.public(public_base(request, merchant))

    return await idempotent(request, merchant, raw, work)


@routes.post("/v1/returns/{return_id}/reject")
async def reject(request: web.Request) -> web.Response:
    merchant = await merchant_of(request)
    raw = await request.read()
    note = _note(raw)

    async def work() -> tuple[int, dict[str, Any]]:
        ret = await _decide(request, merchant, "rejected", note)
        event = merchant_cancel_event("backhaul", ret.id, request.app[keys.CLOCK].now())
        ret = await request.app[keys.INGESTOR].apply_own(ret, event)
        return 200, ret.public(public_base(request, merchant))

    return await idempotent(request, merchant, raw, work)
