"""The console's own login: a signed session cookie, CSRF tokens, rate-limited attempts.

The cookie is `<sid>.<mac>` (HMAC-SHA256 of the session id under `ops.session_secret`),
HttpOnly, SameSite=Strict, path `/ops`, Secure when the public URL is https; the session
itself lives in Redis, so logging out ends it everywhere. Every POST form carries
`csrf` = HMAC of the session id, and a POST from another site's page is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

from gateway import keys
from gateway.ops.users import OpsUsers
from gateway.pages import forms
from gateway.store.keys import Keys
from gateway.store.server import text

COOKIE = "bh_ops"
_WINDOW_S = 15 * 60
Handler = Callable[[web.Request, "Session"], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Session:
    sid: str
    user: str
    csrf: str


def _secret(request: web.Request) -> bytes:
    return request.app[keys.SETTINGS].ops.session_secret.get_secret_value().encode()


def _mac(request: web.Request, purpose: str, value: str) -> str:
    digest = hmac.new(_secret(request), f"{purpose}|{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _keys(request: web.Request) -> Keys:
    return Keys(request.app[keys.SETTINGS].key_prefix)


def users(request: web.Request) -> OpsUsers:
    return OpsUsers(request.app[keys.REDIS], _keys(request), request.app[keys.SETTINGS].ops.users)


async def current(request: web.Request) -> Session | None:
    sid, _, mac = request.cookies.get(COOKIE, "").partition(".")
    if not sid or not hmac.compare_digest(mac, _mac(request, "session", sid)):
        return None
    user = await request.app[keys.REDIS].get(_keys(request).ops_session(sid))
    return Session(sid, text(user), _mac(request, "csrf", sid)) if user else None


async def start(request: web.Request, user: str, response: web.StreamResponse) -> None:
    s = request.app[keys.SETTINGS]
    sid = secrets.token_urlsafe(24)
    await request.app[keys.REDIS].set(_keys(request).ops_session(sid), user, ex=s.ops.session_ttl_s)
    response.set_cookie(COOKIE, f"{sid}.{_mac(request, 'session', sid)}", path="/ops", httponly=True,
                        samesite="Strict", secure=s.public_url.startswith("https://"), max_age=s.ops.session_ttl_s)


async def end(request: web.Request, session: Session, response: web.StreamResponse) -> None:
    await request.app[keys.REDIS].delete(_keys(request).ops_session(session.sid))
    response.del_cookie(COOKIE, path="/ops")


def _failure_key(request: web.Request) -> str:
    window = int(request.app[keys.CLOCK].now().timestamp() // _WINDOW_S)
    return _keys(request).ops_login_failures(request.remote or "unknown", window)


async def is_locked_out(request: web.Request) -> bool:
    failures = int(await request.app[keys.REDIS].get(_failure_key(request)) or 0)
    return failures >= request.app[keys.SETTINGS].ops.login_failures_max


async def count_failure(request: web.Request) -> None:
    async with request.app[keys.REDIS].pipeline(transaction=True) as pipe:
        pipe.incr(_failure_key(request))
        pipe.expire(_failure_key(request), 2 * _WINDOW_S)
        await pipe.execute()


def login_token(request: web.Request) -> str:
    secret = _secret(request).decode()
    return forms.issue(secret, "ops-login", "login", request.app[keys.CLOCK].now())


def check_login_token(request: web.Request, token: str) -> bool:
    try:
        forms.verify(_secret(request).decode(), "ops-login", "login", token, request.app[keys.CLOCK].now())
        forms.check_origin(request, request.app[keys.SETTINGS].public_url)
    except forms.FormRefused:
        return False
    return True


def required(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A console page: a session is needed (else the login page); a POST needs its CSRF token too."""
    async def wrapped(request: web.Request) -> web.StreamResponse:
        session = await current(request)
        if session is None:
            raise web.HTTPSeeOther(f"/ops/login?next={quote(request.path_qs, safe='')}")
        if request.method == "POST":
            posted = await request.post()
            token = posted.get("csrf")
            try:
                forms.check_origin(request, request.app[keys.SETTINGS].public_url)
            except forms.FormRefused:
                raise web.HTTPForbidden(text="refused: this form was sent from another site") from None
            if not isinstance(token, str) or not hmac.compare_digest(token, session.csrf):
                raise web.HTTPForbidden(text="refused: the form's CSRF token is missing or wrong; reload the page")
        return await handler(request, session)

    return wrapped
