"""The portal's pages: identify the order (`/r/{merchant}`), then choose what to return (`/r/{merchant}/s/{sid}`).

Plain HTML forms posting to the server: the portal works without JavaScript. Errors come
back as a 303 to the page with `?error=<code>`; the page shows that code's message.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway import keys
from gateway.pages import dropoff, forms
from gateway.pages.i18n import Formatter, choose_time_zone, translations
from gateway.portal import config as portal_config
from gateway.portal import slots
from gateway.portal.code_pages import IDENTIFY_CODE_ERRORS, CodeRefused, begin_code
from gateway.portal.eligibility import eligibility
from gateway.portal.lookup import LookupUnavailable
from gateway.portal.orders import Order
from gateway.portal.session import TooManyTries, find_order, open_session, order_of
from gateway.portal.view import PortalVisit, base_context, issue_token, render, use_token, visit_of

routes = web.RouteTableDef()
IDENTIFY_ERRORS = frozenset({"not_found", "too_many", "form", "expired", "lookup_unavailable",
                             *IDENTIFY_CODE_ERRORS})
FORM_ERRORS = frozenset({"form", "nothing", "quantity", "reason", "resolution", "exchange", "photo_big", "photo_type",
                         "address", "date", "not_serviceable", "policy", "booking", "window", "drop_off"})


def _formatter(visit: PortalVisit, order: Order | None) -> Formatter:
    country = order.address.country if order and order.address else "IN"
    return Formatter(visit.lang, choose_time_zone(None, country, visit.merchant.time_zone))


@routes.get("/r/{merchant}")
async def identify_page(request: web.Request) -> web.Response:
    visit = await visit_of(request)
    if isinstance(visit, web.Response):
        return visit
    error = request.query.get("error", "")
    context = {**base_context(visit), "error": error if error in IDENTIFY_ERRORS else "",
               "action": visit.url("/identify"), "form_token": issue_token(request, f"portal:{visit.merchant.id}",
                                                                           "identify")}
    return render(visit, "portal/identify.html", context, 422 if error else 200)


@routes.post("/r/{merchant}/identify")
async def identify_post(request: web.Request) -> web.Response:
    form = await request.post()
    visit = await visit_of(request, str(form.get("lang", "")) or None)
    if isinstance(visit, web.Response):
        return visit
    mid = visit.merchant.id
    try:
        await use_token(request, visit, f"portal:{mid}", "identify", str(form.get("form_token", "")))
        contact = str(form.get("contact", ""))
        order = await find_order(request, mid, str(form.get("order_id", "")), contact)
        code_url = await begin_code(request, visit, order, contact) if order is not None else None
    except CodeRefused as exc:
        raise web.HTTPSeeOther(visit.url(error=exc.code)) from exc
    except forms.FormRefused as exc:
        raise web.HTTPSeeOther(visit.url(error="expired" if exc.why == "expired" else "form")) from exc
    except TooManyTries as exc:
        raise web.HTTPSeeOther(visit.url(error="too_many")) from exc
    except LookupUnavailable as exc:
        raise web.HTTPSeeOther(visit.url(error="lookup_unavailable")) from exc
    if order is None:
        raise web.HTTPSeeOther(visit.url(error="not_found"))
    if code_url is not None:
        raise web.HTTPSeeOther(code_url)
    sid = await open_session(request, mid, order.order_id)
    raise web.HTTPSeeOther(visit.url(f"/s/{sid}"))


def _items(request: web.Request, visit: PortalVisit, order: Order, returned: dict[str, int],
           fmt: Formatter) -> list[dict[str, Any]]:
    settings = request.app[keys.SETTINGS]
    config = portal_config.for_merchant(settings.config_dir, visit.merchant.id, visit.merchant.name)
    policy = request.app[keys.RULES].policies.for_merchant(visit.merchant.id, visit.merchant.name)
    now = request.app[keys.CLOCK].now()
    out = []
    for n, e in enumerate(eligibility(order, returned, policy, config, now)):
        out.append({"n": n, "sku": e.item.sku, "name": e.item.name, "image_url": e.item.image_url,
                    "price": fmt.money(e.item.price, order.currency), "ordered": e.item.quantity, "left": e.left,
                    "until": fmt.day(e.until) if e.until else "", "why": e.why, "resolutions": e.resolutions,
                    "variants": e.item.variants})
    return out


@routes.get("/r/{merchant}/s/{sid}")
async def return_page(request: web.Request) -> web.Response:
    visit = await visit_of(request)
    if isinstance(visit, web.Response):
        return visit
    sid = request.match_info["sid"]
    order = await order_of(request, visit.merchant.id, sid)
    if order is None:
        raise web.HTTPSeeOther(visit.url(error="expired"))
    fmt = _formatter(visit, order)
    returned = await request.app[keys.ORDERS].returned(visit.merchant.id, order.order_id)
    settings = request.app[keys.SETTINGS]
    config = portal_config.for_merchant(settings.config_dir, visit.merchant.id, visit.merchant.name)
    error = request.query.get("error", "")
    items = _items(request, visit, order, returned, fmt)
    offer = await slots.offer(request, visit.merchant, order, fmt)
    context = {
        **base_context(visit, f"/s/{sid}"), "order": order, "items": items,
        "has_eligible": any(not i["why"] for i in items), "error": error if error in FORM_ERRORS else "",
        "reasons": [{"code": r.code, "label": r.text(visit.lang)} for r in config.reasons],
        "address": order.address, "days": [{"value": d.isoformat(), "label": fmt.short_day(d)} for d in offer.days],
        "drop_off_place": translations(visit.lang).gettext(dropoff.place(offer.carrier)) if offer.can_drop_off else "",
        "action": visit.url(f"/s/{sid}/submit"), "form_token": issue_token(request, sid, "submit"),
        "recommendations": [{"title": r.title, "url": r.url} for r in visit.merchant.recommendations],
    }
    return render(visit, "portal/return.html", context, 422 if error else 200, order=order)
