"""Cross-site request forgery defence for the page's forms.

A form token is `<expiry>.<nonce>.<mac>`, the MAC an HMAC-SHA256 under the page secret of
the page token, the action, the expiry and the nonce. A POST needs a valid, unexpired token
for its own page and action, an Origin (or Referer) of this site when the browser sends one,
and it uses the nonce up: a second submit of the same form is answered like the first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime
from urllib.parse import urlsplit

from aiohttp import web

FORM_TTL_S = 20 * 60


class FormRefused(Exception):
    """The form token is missing, forged, for another page or action, or expired."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _mac(secret: str, token: str, action: str, expiry: int, nonce: str) -> str:
    message = f"{token}|{action}|{expiry}|{nonce}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue(secret: str, token: str, action: str, now: datetime, ttl_s: int = FORM_TTL_S) -> str:
    """A fresh form token for one action on one page."""
    expiry = int(now.timestamp()) + ttl_s
    nonce = secrets.token_urlsafe(12)
    return f"{expiry}.{nonce}.{_mac(secret, token, action, expiry, nonce)}"


def verify(secret: str, token: str, action: str, form_token: str, now: datetime) -> tuple[str, int]:
    """The nonce and expiry of a valid form token. Raises: FormRefused ('invalid' or 'expired')."""
    try:
        expiry_text, nonce, mac = form_token.split(".", 2)
        expiry = int(expiry_text)
    except ValueError as exc:
        raise FormRefused("invalid") from exc
    if not hmac.compare_digest(mac, _mac(secret, token, action, expiry, nonce)):
        raise FormRefused("invalid")
    if expiry < now.timestamp():
        raise FormRefused("expired")
    return nonce, expiry


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def check_origin(request: web.Request, public_base: str) -> None:
    """Refuse a POST another site's page made. Raises: FormRefused('invalid')."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        raise FormRefused("invalid")
    sent = request.headers.get("Origin") or _origin(request.headers.get("Referer", ""))
    if not sent or sent == "null":
        return
    allowed = {_origin(public_base), f"{request.scheme}://{request.host}".lower()}
    if sent.lower() not in allowed:
        raise FormRefused("invalid")
