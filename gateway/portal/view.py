"""Shared by the portal's pages: the merchant of the URL, the language, rendering, form tokens.

Form tokens are the tracking page's (`gateway/pages/forms.py`), bound to "portal:<mid>"
for the identify form and to the session id for the return form; each is used once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from gateway import keys
from gateway.models import Merchant
from gateway.pages import forms
from gateway.pages.branding import palette
from gateway.pages.i18n import LANGUAGES, choose_language, environment
from gateway.pages.tracking import error_page, security_headers
from gateway.portal.orders import Order
from gateway.store.keys import Keys


@dataclass(frozen=True)
class PortalVisit:
    merchant: Merchant
    lang: str
    base: str

    def url(self, suffix: str = "", **query: str) -> str:
        params = {k: v for k, v in {"lang": self.lang, **query}.items() if v}
        return f"{self.base}/r/{self.merchant.id}{suffix}?{urlencode(params)}"


def store_keys(request: web.Request) -> Keys:
    return Keys(request.app[keys.SETTINGS].key_prefix)


async def visit_of(request: web.Request, lang: str | None = None) -> PortalVisit | web.Response:
    """The merchant named by the URL and the visitor's language, or the not-found page."""
    merchant = await request.app[keys.MERCHANTS].get(request.match_info["merchant"][:40])
    if merchant is None:
        return error_page(request, "not_found")
    chosen = choose_language(lang or request.query.get("lang"), request.headers.get("Accept-Language", ""))
    base = merchant.public_base(request.app[keys.SETTINGS].public_url)
    return PortalVisit(merchant, chosen, base)


def base_context(visit: PortalVisit, suffix: str = "") -> dict[str, Any]:
    m = visit.merchant
    return {
        "lang": visit.lang, "merchant": m, "brand_name": m.display_name or m.name, "nonce": secrets.token_urlsafe(12),
        "css": palette(m.primary_color, m.accent_color, m.font),
        "languages": [{"code": c, "name": n, "url": visit.url(suffix, lang=c)} for c, n in LANGUAGES.items()],
    }


def render(visit: PortalVisit, template: str, context: dict[str, Any], status: int = 200,
           order: Order | None = None) -> web.Response:
    html = environment(visit.lang).get_template(template).render(context)
    headers = security_headers(context["nonce"], visit.merchant, visit.base)
    if order is not None:
        extra = sorted({f"https://{urlsplit(i.image_url).netloc}" for i in order.items if i.image_url})
        if extra:
            headers["Content-Security-Policy"] = headers["Content-Security-Policy"].replace(
                "img-src 'self'", "img-src 'self' " + " ".join(extra), 1)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8", headers=headers)


def issue_token(request: web.Request, bound_to: str, action: str) -> str:
    secret = request.app[keys.SETTINGS].page_secret.get_secret_value()
    return forms.issue(secret, bound_to, action, request.app[keys.CLOCK].now())


async def use_token(request: web.Request, visit: PortalVisit, bound_to: str, action: str, token: str) -> None:
    """Check the form's token and origin and use the token up. Raises: forms.FormRefused."""
    forms.check_origin(request, visit.base)
    secret = request.app[keys.SETTINGS].page_secret.get_secret_value()
    now = request.app[keys.CLOCK].now()
    nonce, expiry = forms.verify(secret, bound_to, action, token, now)
    ttl = max(1, expiry - int(now.timestamp()))
    key = store_keys(request).portal_form(visit.merchant.id, nonce)
    if not await request.app[keys.REDIS].set(key, action, nx=True, ex=ttl):
        raise forms.FormRefused("used")
