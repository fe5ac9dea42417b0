"""`POST /v1/trackings`: follow an AWB booked outside Backhaul through the same event path.

A tracking is stored like a return (kind "tracking", no request, no label, no cancel): it is
polled, takes carrier webhooks, appears in the feed and gets a tracking page. Without a
carrier, the AWB's pattern and check digits pick one.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from carriers.detect import Candidate, detect
from gateway import keys
from gateway.api.common import merchant_of, parse_json, public_base, validate
from gateway.api.returns import idempotent
from gateway.models import Merchant, Return, Shipment, TrackingCreate, new_id, new_token
from gateway.problems import Problem
from normalizers.machine import ShipmentState

routes = web.RouteTableDef()
# Below this a guess is not good enough to poll a carrier on the merchant's behalf.
MIN_CONFIDENCE = 0.6


def _candidates_json(candidates: list[Candidate]) -> list[dict[str, Any]]:
    return [{"carrier": c.carrier, "confidence": c.confidence, "reason": c.reason} for c in candidates]


def choose_carrier(body: TrackingCreate, enabled: set[str]) -> tuple[str, list[Candidate]]:
    """The carrier to follow the AWB with. Raises: Problem 422 when it is unknown or unsure."""
    if body.carrier:
        if body.carrier not in enabled:
            raise Problem(422, "validation-error", "The request body is not valid",
                          f"carrier: {body.carrier!r} is not an enabled carrier",
                          [{"field": "carrier", "message": "not an enabled carrier", "type": "enum"}])
        return body.carrier, []
    candidates = [c for c in detect(body.awb) if c.carrier in enabled]
    if not candidates or candidates[0].confidence < MIN_CONFIDENCE:
        raise Problem(422, "carrier-not-detected", "Backhaul cannot tell which carrier this AWB belongs to",
                      "awb: give the carrier explicitly",
                      [{"field": "carrier", "message": "required: the AWB matches no carrier with confidence",
                        "type": "missing"}], candidates=_candidates_json(candidates))
    return candidates[0].carrier, candidates


async def _register(request: web.Request, merchant: Merchant, body: TrackingCreate) -> tuple[int, dict[str, Any]]:
    app = request.app
    carrier, candidates = choose_carrier(body, set(app[keys.CARRIERS].adapters))
    store, base = app[keys.RETURNS], public_base(request, merchant)
    existing = await store.by_awb(carrier, body.awb)
    if existing is not None:
        if existing[0] != merchant.id:
            raise Problem(409, "awb-taken", "Another account already follows this AWB")
        found = await store.get(*existing)
        assert found is not None
        return 200, found.public(base)
    now = app[keys.CLOCK].now()
    ret = Return(id=new_id("trk"), merchant_id=merchant.id, order_id=body.order_id or body.awb, created_at=now,
                 updated_at=now, kind="tracking", state=ShipmentState.initial(), tracking_token=new_token(),
                 shipment=Shipment(carrier=carrier, awb=body.awb, booked_at=now))
    await store.insert(ret)
    await store.index_awb(ret)
    await store.schedule_poll(merchant.id, ret.id, now.timestamp())
    doc = ret.public(base)
    if candidates:
        doc["detected"] = _candidates_json(candidates)
    return 201, doc


@routes.post("/v1/trackings")
async def create_tracking(request: web.Request) -> web.Response:
    merchant = await merchant_of(request)
    raw = await request.read()
    body = validate(TrackingCreate, parse_json(raw))
    return await idempotent(request, merchant, raw, lambda: _register(request, merchant, body))
