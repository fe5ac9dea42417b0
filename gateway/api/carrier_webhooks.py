"""`POST /webhooks/carriers/{code}`: verify, check the body is well-formed, append, answer 202.

Parsing into events, normalizing and applying happen in the inbound workers; this handler
only refuses what can never be applied, and keeps the raw body durable before it answers.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web
from lxml import etree

from gateway import keys
from gateway.inbound_log import entry_fields
from gateway.problems import Problem

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def check_well_formed(body: bytes) -> str:
    """The body as text when it is UTF-8 JSON or XML without a DTD. Raises: Problem 400."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(400, "malformed-body", "The body is not UTF-8") from exc
    stripped = text.lstrip()
    if stripped.startswith("<"):
        if "<!DOCTYPE" in stripped.upper()[:4096] or "<!ENTITY" in stripped.upper():
            raise Problem(400, "malformed-body", "XML with a DTD or entities is refused")
        try:
            etree.fromstring(body, _XML)
        except etree.XMLSyntaxError as exc:
            raise Problem(400, "malformed-body", "The body is not well-formed XML", str(exc)) from exc
        return text
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise Problem(400, "malformed-body", "The body is not valid JSON", str(exc)) from exc
    return text


@routes.post("/webhooks/carriers/{code}")
async def carrier_webhook(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    hub = request.app[keys.CARRIERS]
    metrics = request.app[keys.METRICS]
    adapter = hub.adapters.get(code)
    if adapter is None or not adapter.capabilities.webhook_push:
        raise Problem(404, "not-found", "No webhook for this carrier", code)
    body = await request.read()
    if not adapter.verify_webhook(request.headers, body):
        metrics.webhooks_in.labels(code, "unauthorized").inc()
        log.warning("carrier webhook failed verification", extra={"carrier": code})
        raise Problem(401, "unauthorized", "The webhook could not be verified")
    try:
        text = check_well_formed(body)
    except Problem:
        metrics.webhooks_in.labels(code, "malformed").inc()
        log.warning("malformed carrier webhook refused", extra={"carrier": code})
        raise
    received_ms = int(request.app[keys.CLOCK].now().timestamp() * 1000)
    await request.app[keys.INBOUND].append(entry_fields(code, request.headers, text, received_ms))
    metrics.webhooks_in.labels(code, "accepted").inc()
    return web.Response(status=202)
