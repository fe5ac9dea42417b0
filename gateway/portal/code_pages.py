"""The one-time code step between identify and the return page (`/r/{merchant}/code/{cid}`).

When the merchant's portal config asks for it (`verify`), a matched order does not open a
session at once: a code goes to the contact on the order and the customer types it here.
A right code opens the normal portal session. Wrong, burnt and expired codes get one and the
same answer; an unknown challenge sends the customer back to the identify page. Plain forms
with the portal's single-use form tokens, bound to the challenge id; no JavaScript.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from aiohttp import web

from gateway import keys
from gateway.pages import forms
from gateway.portal import config as portal_config
from gateway.portal.code_delivery import channels_of, masked, recipient_for, send_code
from gateway.portal.codes import CODE_TTL_S, Challenge, CodeStore, ResendRefused
from gateway.portal.orders import Order
from gateway.portal.session import open_session
from gateway.portal.view import PortalVisit, base_context, issue_token, render, store_keys, use_token, visit_of

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
CODE_ERRORS = frozenset({"wrong", "wait", "limit", "unsent", "form"})
# What the identify page may be sent back with by this step.
IDENTIFY_CODE_ERRORS = frozenset({"unsent", "no_channel", "code_limit"})
_SPACES = re.compile(r"[\s\-]")


class CodeRefused(Exception):
    """No code could be sent; `code` names the identify page's message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def code_store(request: web.Request) -> CodeStore:
    app = request.app
    return CodeStore(app[keys.REDIS], store_keys(request), app[keys.CLOCK],
                     app[keys.SETTINGS].page_secret.get_secret_value())


async def begin_code(request: web.Request, visit: PortalVisit, order: Order, typed: str) -> str | None:
    """The code page's URL after sending a code, None when the merchant asks for none. Raises: CodeRefused."""
    mid, settings = visit.merchant.id, request.app[keys.SETTINGS]
    mode = portal_config.for_merchant(settings.config_dir, mid, visit.merchant.name).verify
    if mode == "none":
        return None
    to = recipient_for(mode, order, typed, visit.lang, *channels_of(request.app))
    if to is None:
        raise CodeRefused("no_channel")
    store = code_store(request)
    if not await store.may_send(mid, order.order_id):
        raise CodeRefused("code_limit")
    cid, code = await store.start(mid, order.order_id, to)
    await store.count_send(mid, order.order_id)
    try:
        await send_code(request.app, visit.merchant, order.order_id, to, code)
    except Exception as exc:  # NotifyFailed, or a missing template: the customer must hear either way
        await store.drop(mid, cid)
        log.warning("portal code not sent", extra={"merchant_id": mid, "channel": to.channel, "error": str(exc)})
        raise CodeRefused("unsent") from exc
    request.app[keys.METRICS].portal_codes.labels("sent").inc()
    return visit.url(f"/code/{cid}")


async def _challenge(request: web.Request, visit: PortalVisit) -> Challenge:
    """The URL's live challenge. Raises: HTTPSeeOther to the identify page when there is none."""
    challenge = await code_store(request).get(visit.merchant.id, request.match_info["cid"])
    if challenge is None:
        raise web.HTTPSeeOther(visit.url(error="expired"))
    return challenge


@routes.get("/r/{merchant}/code/{cid}")
async def code_page(request: web.Request) -> web.Response:
    visit = await visit_of(request)
    if isinstance(visit, web.Response):
        return visit
    challenge = await _challenge(request, visit)
    cid, error = challenge.cid, request.query.get("error", "")
    context = {**base_context(visit, f"/code/{cid}"), "destination": masked(challenge.to),
               "minutes": CODE_TTL_S // 60, "error": error if error in CODE_ERRORS else "",
               "is_resent": request.query.get("sent") == "1", "action": visit.url(f"/code/{cid}"),
               "resend_action": visit.url(f"/code/{cid}/resend"), "restart": visit.url(),
               "form_token": issue_token(request, cid, "code"), "resend_token": issue_token(request, cid, "resend")}
    return render(visit, "portal/code.html", context, 422 if context["error"] else 200)


@routes.post("/r/{merchant}/code/{cid}")
async def code_post(request: web.Request) -> web.Response:
    form = await request.post()
    visit = await visit_of(request, str(form.get("lang", "")) or None)
    if isinstance(visit, web.Response):
        return visit
    mid, cid = visit.merchant.id, request.match_info["cid"]
    try:
        await use_token(request, visit, cid, "code", str(form.get("form_token", "")))
    except forms.FormRefused as exc:
        raise web.HTTPSeeOther(visit.url(f"/code/{cid}", error="form")) from exc
    outcome, order_id = await code_store(request).guess(mid, cid, _SPACES.sub("", str(form.get("code", "")))[:12])
    request.app[keys.METRICS].portal_codes.labels(outcome).inc()
    if outcome == "unknown":
        raise web.HTTPSeeOther(visit.url(error="expired"))
    if outcome != "ok":
        raise web.HTTPSeeOther(visit.url(f"/code/{cid}", error="wrong"))
    sid = await open_session(request, mid, order_id)
    raise web.HTTPSeeOther(visit.url(f"/s/{sid}"))


@routes.post("/r/{merchant}/code/{cid}/resend")
async def resend_post(request: web.Request) -> web.Response:
    form = await request.post()
    visit = await visit_of(request, str(form.get("lang", "")) or None)
    if isinstance(visit, web.Response):
        return visit
    challenge = await _challenge(request, visit)
    mid, cid, store = visit.merchant.id, challenge.cid, code_store(request)
    try:
        await use_token(request, visit, cid, "resend", str(form.get("form_token", "")))
    except forms.FormRefused as exc:
        raise web.HTTPSeeOther(visit.url(f"/code/{cid}", error="form")) from exc
    if not await store.may_send(mid, challenge.order_id):
        raise web.HTTPSeeOther(visit.url(f"/code/{cid}", error="limit"))
    try:
        code = await store.renew(mid, cid)
    except ResendRefused as exc:
        if exc.why == "unknown":
            raise web.HTTPSeeOther(visit.url(error="expired")) from exc
        raise web.HTTPSeeOther(visit.url(f"/code/{cid}", error=exc.why)) from exc
    await store.count_send(mid, challenge.order_id)
    try:
        # In the page's language now: the customer may have switched it on the code page.
        await send_code(request.app, visit.merchant, challenge.order_id, replace(challenge.to, lang=visit.lang), code)
    except Exception as exc:  # as in begin_code: the customer is told, the next resend may work
        log.warning("portal code not re-sent", extra={"merchant_id": mid, "error": str(exc)})
        raise web.HTTPSeeOther(visit.url(f"/code/{cid}", error="unsent")) from exc
    request.app[keys.METRICS].portal_codes.labels("resent").inc()
    raise web.HTTPSeeOther(visit.url(f"/code/{cid}", sent="1"))
