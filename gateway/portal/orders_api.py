"""`POST /v1/orders` (one order, or `{"orders": [...]}` in bulk) and `GET /v1/orders/{order_id}`.

Idempotent by the merchant's order id: the same order again answers `unchanged`, a changed
one replaces it. In bulk, each order stands alone: a bad one is reported by its index and
field paths and does not stop the others.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from gateway import keys
from gateway.api.common import json_response, merchant_of, parse_json, validate
from gateway.portal.orders import OrderIn
from gateway.problems import Problem, field_errors

routes = web.RouteTableDef()
BULK_MAX = 1000



@routes.post("/v1/orders")
async def post_orders(request: web.Request) -> web.Response:
    merchant = await merchant_of(request)
    data = parse_json(await request.read())
    now = request.app[keys.CLOCK].now()
    store = request.app[keys.ORDERS]
    if not (isinstance(data, dict) and "orders" in data):
        body = validate(OrderIn, data)
        one = (await store.save_many(merchant.id, [body], now))[0]
        doc = one.order.model_dump(mode="json")
        return json_response({**doc, "status": one.outcome}, 201 if one.outcome == "created" else 200)
    orders = data["orders"]
    if not isinstance(orders, list) or not 1 <= len(orders) <= BULK_MAX:
        raise Problem(422, "validation-error", "The request body is not valid",
                      f"orders: a list of 1 to {BULK_MAX} orders",
                      [{"field": "orders", "message": f"1 to {BULK_MAX} orders", "type": "list_type"}])
    good: list[tuple[int, OrderIn]] = []
    results: list[dict[str, Any]] = [{} for _ in orders]
    for index, raw in enumerate(orders):
        try:
            good.append((index, OrderIn.model_validate(raw)))
        except ValidationError as exc:
            oid = raw.get("order_id") if isinstance(raw, dict) else None
            results[index] = {"index": index, "order_id": oid, "status": "error",
                              "errors": field_errors(exc, f"orders[{index}]")}
    saved = await store.save_many(merchant.id, [b for _, b in good], now)
    for (index, _), one in zip(good, saved, strict=True):
        results[index] = {"index": index, "order_id": one.order.order_id, "status": one.outcome}
    failed = sum(1 for r in results if r["status"] == "error")
    return json_response({"data": results, "saved": len(saved), "failed": failed}, 207 if failed else 200)


@routes.get("/v1/orders/{order_id}")
async def get_order(request: web.Request) -> web.Response:
    merchant = await merchant_of(request)
    order = await request.app[keys.ORDERS].get(merchant.id, request.match_info["order_id"])
    if order is None:
        raise Problem(404, "not-found", "No such order", request.match_info["order_id"])
    returned = await request.app[keys.ORDERS].returned(merchant.id, order.order_id)
    return json_response({**order.model_dump(mode="json"), "returned": returned})
