"""`GET|PUT|DELETE /v1/order-lookup`: the merchant's order-lookup webhook (see gateway/portal/lookup.py).

The signing secret is in the answer only when it is made (the first PUT, or one with
`rotate_secret: true`); afterwards the endpoint shows a `secret_hint`.
"""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.api.common import json_response, merchant_of, parse_json, validate
from gateway.portal.lookup_endpoint import LookupEndpointIn, LookupEndpoints
from gateway.problems import Problem
from gateway.store.keys import Keys
from gateway.webhooks_out.api import is_private_host

routes = web.RouteTableDef()


def endpoints(app: web.Application) -> LookupEndpoints:
    return LookupEndpoints(app[keys.REDIS], Keys(app[keys.SETTINGS].key_prefix))


def refuse_private(app: web.Application, body: LookupEndpointIn) -> None:
    """Raises: Problem 422 for a URL inside the operator's network, unless the settings allow it (SSRF)."""
    if not app[keys.SETTINGS].webhook_allow_private_urls and is_private_host(body.url.host or ""):
        raise Problem(422, "validation-error", "The request body is not valid",
                      "url: points at a private, loopback or link-local address",
                      [{"field": "url", "message": "private, loopback or link-local address", "type": "value_error"}])


@routes.get("/v1/order-lookup")
async def get_lookup(request: web.Request) -> web.Response:
    merchant = await merchant_of(request)
    endpoint = await endpoints(request.app).get(merchant.id)
    if endpoint is None:
        raise Problem(404, "not-found", "No order-lookup endpoint is set", "PUT /v1/order-lookup sets one.")
    return json_response(endpoint.public())


@routes.put("/v1/order-lookup")
async def put_lookup(request: web.Request) -> web.Response:
    merchant = await merchant_of(request)
    body = validate(LookupEndpointIn, parse_json(await request.read()))
    refuse_private(request.app, body)
    store = endpoints(request.app)
    is_first = await store.get(merchant.id) is None
    endpoint, is_new_secret = await store.put(merchant.id, body, request.app[keys.CLOCK].now())
    doc = endpoint.public()
    if is_new_secret:
        # The only time the secret is shown: the merchant stores it to verify our signatures.
        doc["secret"] = endpoint.secret
    return json_response(doc, 201 if is_first else 200)


@routes.delete("/v1/order-lookup")
async def delete_lookup(request: web.Request) -> web.Response:
    merchant = await merchant_of(request)
    if not await endpoints(request.app).delete(merchant.id):
        raise Problem(404, "not-found", "No order-lookup endpoint is set")
    return web.Response(status=204)
