"""The customer's tracking page, `/t/{token}`: server-rendered HTML, JavaScript only enhances.

The page makes no third-party request: CSS and the small script are inline (allowed by a
per-response nonce), fonts are system fonts, images come only from the merchant's own URLs.
"""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from gateway import keys
from gateway.models import Merchant, Return
from gateway.pages import guard
from gateway.pages.branding import palette
from gateway.pages.i18n import choose_language, environment
from gateway.pages.view import image_origins, page_context, visit_for

routes = web.RouteTableDef()


def security_headers(nonce: str, merchant: Merchant | None, form_origin: str = "") -> dict[str, str]:
    images = " ".join(["'self'", "data:", *(image_origins(merchant) if merchant else [])])
    policy = (f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; img-src {images}; "
              f"connect-src 'self'; form-action 'self' {form_origin}; base-uri 'none'; frame-ancestors 'none'")
    return {
        "Content-Security-Policy": policy.replace("  ", " "),
        # The token is in the URL: never send it to the carrier's or the merchant's sites.
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "X-Robots-Tag": "noindex",
    }


def render(lang: str, template: str, context: dict[str, Any], status: int = 200,
           merchant: Merchant | None = None, form_origin: str = "") -> web.Response:
    html = environment(lang).get_template(template).render(context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8",
                        headers=security_headers(context["nonce"], merchant, form_origin))


def error_page(request: web.Request, kind: str) -> web.Response:
    """The page for an unknown token (404) or too many guesses (429), in the visitor's language."""
    lang = choose_language(request.query.get("lang"), request.headers.get("Accept-Language", ""))
    status = 429 if kind == "too_many" else 404
    context = {"lang": lang, "kind": kind, "nonce": secrets.token_urlsafe(12),
               "css": palette()}
    response = render(lang, "tracking_error.html", context, status)
    if status == 429:
        response.headers["Retry-After"] = "60"
    return response


async def load(request: web.Request) -> tuple[Return, Merchant] | web.Response:
    """The page's return and merchant, or the error page to answer with."""
    try:
        ret = await guard.return_for(request)
    except guard.TooManyGuesses:
        return error_page(request, "too_many")
    except guard.TokenNotFound:
        return error_page(request, "not_found")
    merchant = await request.app[keys.MERCHANTS].get(ret.merchant_id)
    if merchant is None:
        return error_page(request, "not_found")
    return ret, merchant


@routes.get("/t/{token}")
async def tracking_page(request: web.Request) -> web.Response:
    found = await load(request)
    if isinstance(found, web.Response):
        return found
    ret, merchant = found
    visit = visit_for(request, ret, merchant)
    events = await request.app[keys.RETURNS].events(ret.merchant_id, ret.id)
    context = page_context(request, ret, merchant, events, visit)
    return render(visit.lang, "tracking.html", context, merchant=merchant, form_origin=visit.base)


@routes.get("/t/{token}/r/{n:\\d{1,2}}")
async def recommendation_click(request: web.Request) -> web.Response:
    """Count a click on a recommendation, then go to the merchant's configured URL (and only there)."""
    found = await load(request)
    if isinstance(found, web.Response):
        return found
    _, merchant = found
    n = int(request.match_info["n"])
    if n >= len(merchant.recommendations):
        return error_page(request, "not_found")
    chosen = merchant.recommendations[n]
    key = guard.store_keys(request).page_clicks(merchant.id)
    await request.app[keys.REDIS].hincrby(key, chosen.id, 1)
    raise web.HTTPFound(chosen.url, headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"})
