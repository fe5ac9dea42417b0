"""Merchant API: create, read, list, label and cancel returns."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from gateway import keys
from gateway.api.common import json_response, merchant_of, parse_json, public_base, validate
from gateway.ingest import merchant_cancel_event
from gateway.label import render_label
from gateway.label_data import label_data
from gateway.models import Merchant, Return, ReturnCreate
from gateway.problems import Problem
from gateway.store.idempotency import KeyReusedWithOtherBody, KeyStillInProgress, body_hash
from normalizers.taxonomy import PRE_PICKUP, Status

routes = web.RouteTableDef()
Work = Callable[[], Awaitable[tuple[int, dict[str, Any]]]]


async def idempotent(request: web.Request, merchant: Merchant, raw: bytes, work: Work) -> web.Response:
    """Run `work` once per Idempotency-Key; repeats get the stored answer."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        status, body = await work()
        return json_response(body, status)
    if not 1 <= len(key) <= 255:
        raise Problem(400, "bad-idempotency-key", "Idempotency-Key must be 1 to 255 characters")
    store = request.app[keys.IDEMPOTENCY]
    key_id = hashlib.sha256(key.encode()).hexdigest()
    digest = body_hash(request.method, request.path, raw)
    try:
        replay = await store.begin(merchant.id, key_id, digest)
    except KeyReusedWithOtherBody as exc:
        raise Problem(422, "idempotency-key-reused", "This Idempotency-Key was used with another request",
                      "Use a new key for a different request.") from exc
    except KeyStillInProgress as exc:
        raise Problem(409, "idempotency-key-in-progress", "A request with this key is still running") from exc
    if replay is not None:
        return json_response(replay.body, replay.status)
    try:
        status, body = await work()
    except BaseException:
        await store.abandon(merchant.id, key_id)
        raise
    await store.finish(merchant.id, key_id, digest, status, body)
    return json_response(body, status)


async def _return_of(request: web.Request) -> tuple[Merchant, Return]:
    merchant = await merchant_of(request)
    ret = await request.app[keys.RETURNS].get(merchant.id, request.match_info["return_id"])
    if ret is None:
        raise Problem(404, "not-found", "No such return", request.match_info["return_id"])
    return merchant, ret


@routes.post("/v1/returns")
async def create_return(request: web.Request) -> web.Response:
    merchant = await merchant_of(request)
    raw = await request.read()
    body = validate(ReturnCreate, parse_json(raw))
    base = public_base(request, merchant)

    async def work() -> tuple[int, dict[str, Any]]:
        ret = await request.app[keys.BOOKER].create(merchant, body)
        return (201 if ret.shipment else 202), ret.public(base)

    return await idempotent(request, merchant, raw, work)


@routes.get("/v1/returns/{return_id}")
async def get_return(request: web.Request) -> web.Response:
    merchant, ret = await _return_of(request)
    return json_response(ret.public(public_base(request, merchant)))


@routes.get("/v1/returns/{return_id}/events")
async def return_events(request: web.Request) -> web.Response:
    from normalizers.machine import ordered

    merchant, ret = await _return_of(request)
    events = ordered(await request.app[keys.RETURNS].events(merchant.id, ret.id))
    return json_response({"data": [e.model_dump(mode="json") for e in events]})


@routes.get("/v1/returns")
async def list_returns(request: web.Request) -> web.Response:
    merchant = await merchant_of(request)
    status = request.query.get("status") or None
    if status is not None and status not in Status.__members__.values():
        raise Problem(422, "validation-error", "Unknown status filter", f"status: {status!r} is not a status",
                      [{"field": "status", "message": "unknown status", "type": "enum"}])
    try:
        limit = int(request.query.get("limit", "20"))
    except ValueError as exc:
        raise Problem(422, "validation-error", "limit must be a whole number",
                      errors=[{"field": "limit", "message": "not an integer", "type": "int_parsing"}]) from exc
    try:
        page, cursor = await request.app[keys.RETURNS].page(merchant.id, status, request.query.get("cursor"), limit)
    except ValueError as exc:
        raise Problem(422, "validation-error", "The cursor is not valid",
                      errors=[{"field": "cursor", "message": "not a cursor", "type": "value_error"}]) from exc
    base = public_base(request, merchant)
    return json_response({"data": [r.public(base) for r in page], "next_cursor": cursor})


@routes.get("/v1/returns/{return_id}/label")
async def label(request: web.Request) -> web.Response:
    merchant, ret = await _return_of(request)
    if ret.kind == "tracking":
        raise Problem(409, "no-label", "A tracking was booked outside Backhaul, so Backhaul has no label for it")
    if ret.shipment is None:
        raise Problem(409, "not-booked", "The return has no booked pickup yet, so no label")
    hub = request.app[keys.CARRIERS]
    carrier = hub.get(ret.shipment.carrier)
    fields = dict(ret.shipment.label_fields)
    from_carrier = await hub.call(ret.shipment.carrier, "label", lambda: carrier.label(ret.shipment.awb))  # type: ignore[union-attr]
    if from_carrier is not None and from_carrier.label_pdf:
        return web.Response(body=from_carrier.label_pdf, content_type="application/pdf")
    if from_carrier is not None:
        fields.update(from_carrier.label_fields)
    pdf = render_label(label_data(ret, merchant, carrier.name, fields))
    return web.Response(body=pdf, content_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{ret.id}-label.pdf"'})


@routes.post("/v1/returns/{return_id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    merchant, ret = await _return_of(request)
    raw = await request.read()
    base = public_base(request, merchant)

    async def work() -> tuple[int, dict[str, Any]]:
        current = await request.app[keys.RETURNS].get(merchant.id, ret.id)
        assert current is not None
        if current.kind == "tracking":
            raise Problem(409, "not-cancellable", "A tracking was booked outside Backhaul; cancel it with the carrier")
        if current.status is Status.CANCELLED:
            return 200, current.public(base)
        if current.status not in PRE_PICKUP:
            raise Problem(409, "not-cancellable", "The parcel has already been picked up",
                          f"status is {current.status.value}; only a return not yet picked up can be cancelled")
        if current.shipment is not None:
            hub = request.app[keys.CARRIERS]
            awb, code, ref = current.shipment.awb, current.shipment.carrier, current.shipment.carrier_reference
            await hub.call(code, "cancel", lambda: hub.get(code).cancel(awb, ref))
        event = merchant_cancel_event(current.shipment.carrier if current.shipment else "backhaul",
                                   current.shipment.awb if current.shipment else current.id,
                                   request.app[keys.CLOCK].now())
        updated = await request.app[keys.INGESTOR].apply_own(current, event)
        return 200, updated.public(base)

    return await idempotent(request, merchant, raw, work)
