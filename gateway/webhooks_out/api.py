"""Merchant API for outbound webhooks: endpoints, replay and the attempt log."""

from __future__ import annotations

import ipaddress

from aiohttp import web

from gateway import keys
from gateway.api.common import json_response, merchant_of, parse_json, validate
from gateway.models import Merchant
from gateway.problems import Problem
from gateway.store.keys import Keys
from gateway.webhooks_out.endpoints import EndpointStore, TooManyEndpoints
from gateway.webhooks_out.models import Endpoint, EndpointCreate, entry_key
from gateway.webhooks_out.queue import DeliveryQueue

routes = web.RouteTableDef()
_MAX_LOG = 100


def endpoint_store(app: web.Application) -> EndpointStore:
    """Thin objects over the app's Redis client; cheap enough to make per request."""
    s, redis = app[keys.SETTINGS], app[keys.REDIS]
    k = Keys(s.key_prefix)
    queue = DeliveryQueue(redis, k, s.webhook_deliveries_kept, s.webhook_dead_letters_kept)
    return EndpointStore(redis, k, queue, s.webhook_endpoints_max)


async def _endpoint_of(request: web.Request) -> tuple[Merchant, Endpoint]:
    """Raises: Problem 404 for an unknown id or another merchant's endpoint (the same answer)."""
    merchant = await merchant_of(request)
    eid = request.match_info["endpoint_id"]
    endpoint = await endpoint_store(request.app).get(merchant.id, eid)
    if endpoint is None:
        raise Problem(404, "not-found", "No such webhook endpoint", eid)
    return merchant, endpoint


def _query_problem(field: str, message: str) -> Problem:
    return Problem(422, "validation-error", "The query is not valid", f"{field}: {message}",
                   [{"field": field, "message": message, "type": "value_error"}])


def is_private_host(host: str) -> bool:
    """Whether a URL's host is an address inside the operator's network (SSRF guard)."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local or address.is_reserved


@routes.post("/v1/webhook-endpoints")
async def create_endpoint(request: web.Request) -> web.Response:
    merchant = await merchant_of(request)
    body = validate(EndpointCreate, parse_json(await request.read()))
    if not request.app[keys.SETTINGS].webhook_allow_private_urls and is_private_host(body.url.host or ""):
        raise Problem(422, "validation-error", "The request body is not valid",
                      "url: points at a private, loopback or link-local address",
                      [{"field": "url", "message": "private, loopback or link-local address", "type": "value_error"}])
    try:
        endpoint = await endpoint_store(request.app).create(merchant.id, body, request.app[keys.CLOCK].now())
    except TooManyEndpoints as exc:
        limit = request.app[keys.SETTINGS].webhook_endpoints_max
        raise Problem(409, "too-many-endpoints", "This merchant has as many webhook endpoints as allowed",
                      f"at most {limit}; delete one first") from exc
    # The only time the secret is shown: the merchant stores it to verify our signatures.
    return json_response({**endpoint.public(), "secret": endpoint.secret}, 201)


@routes.get("/v1/webhook-endpoints")
async def list_endpoints(request: web.Request) -> web.Response:
    merchant = await merchant_of(request)
    endpoints = await endpoint_store(request.app).all(merchant.id)
    return json_response({"data": [ep.public() for ep in endpoints]})


@routes.get("/v1/webhook-endpoints/{endpoint_id}")
async def get_endpoint(request: web.Request) -> web.Response:
    merchant, endpoint = await _endpoint_of(request)
    dead = await endpoint_store(request.app).dead_letters(merchant.id, endpoint.id)
    return json_response({**endpoint.public(), "dead_letters": dead})


@routes.delete("/v1/webhook-endpoints/{endpoint_id}")
async def delete_endpoint(request: web.Request) -> web.Response:
    merchant, endpoint = await _endpoint_of(request)
    await endpoint_store(request.app).delete(merchant.id, endpoint.id)
    return web.Response(status=204)


@routes.post("/v1/webhook-endpoints/{endpoint_id}/replay")
async def replay(request: web.Request) -> web.Response:
    """Queue every feed entry after `?after=<feed cursor>` again ("0" for the whole feed)."""
    _, endpoint = await _endpoint_of(request)
    after = request.query.get("after")
    if after is None:
        raise _query_problem("after", "required: the feed cursor to replay after, or 0 for all")
    try:
        entry_key(after)
    except ValueError as exc:
        raise _query_problem("after", "not a feed cursor") from exc
    now_s = request.app[keys.CLOCK].now().timestamp()
    queued = await endpoint_store(request.app).replay(endpoint, after, now_s)
    return json_response({"endpoint_id": endpoint.id, "after": after, "queued": queued}, 202)


@routes.get("/v1/webhook-endpoints/{endpoint_id}/deliveries")
async def deliveries(request: web.Request) -> web.Response:
    """The newest attempts, newest first, with status codes and errors."""
    merchant, endpoint = await _endpoint_of(request)
    try:
        limit = max(1, min(int(request.query.get("limit", str(_MAX_LOG))), _MAX_LOG))
    except ValueError as exc:
        raise _query_problem("limit", "not an integer") from exc
    attempts = await endpoint_store(request.app).attempts(merchant.id, endpoint.id, limit)
    return json_response({"data": [a.model_dump(mode="json") for a in attempts]})
