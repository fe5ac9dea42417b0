"""`POST /v1/allocations/preview`: how Backhaul would allocate a return, without creating it."""

from __future__ import annotations

from dataclasses import asdict

from aiohttp import web
from pydantic import TypeAdapter

from gateway import keys
from gateway.api.common import json_response, merchant_of, parse_json, validate
from gateway.models import ReturnCreate
from gateway.problems import Problem
from gateway.rules.decision import Decision
from gateway.rules.policy import evaluate

routes = web.RouteTableDef()
_DECISION = TypeAdapter(Decision)


@routes.post("/v1/allocations/preview")
async def preview(request: web.Request) -> web.Response:
    """The ranked carriers with each criterion's score, the rules that fired, the excluded and why.

    Read-only: no carrier is called, so a carrier without a serviceability table shows
    `"serviceability": "live"` (the booker asks it at booking time).
    """
    merchant = await merchant_of(request)
    body = validate(ReturnCreate, parse_json(await request.read()))
    drop = body.drop_address or merchant.return_address
    if drop is None:
        raise Problem(422, "validation-error", "The request body is not valid",
                      "drop_address: required, as this merchant has no default return address",
                      [{"field": "drop_address", "message": "required", "type": "missing"}])
    rules = request.app[keys.RULES]
    now = request.app[keys.CLOCK].now()
    policy = rules.policies.for_merchant(merchant.id, merchant.name)
    verdict = evaluate(policy, body, now, await rules.orders.count(merchant.id, body.order_id))
    decision = await rules.decide(merchant, body, drop, now, verdict.needs_qc)
    return json_response({
        "decision": _DECISION.dump_python(decision, mode="json"),
        "policy": {"allowed": verdict.is_allowed, "violations": [asdict(v) for v in verdict.violations],
                   "needs_qc": verdict.needs_qc, "review_reasons": list(verdict.review_reasons)},
    })
