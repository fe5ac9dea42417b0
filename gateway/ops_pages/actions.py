"""The console's forms: log in and out, act on a failed pickup, acknowledge or resolve an alert."""

from __future__ import annotations

from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from gateway import keys
from gateway.ops.remediation import OPS_ACTIONS
from gateway.ops.wiring import remediator_for
from gateway.ops_pages import auth
from gateway.ops_pages.auth import Session, required

routes = web.RouteTableDef()


def _login_page(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    response = aiohttp_jinja2.render_template("ops/login.html", request, {
        "token": auth.login_token(request), "error": error, "next": _next(request.query.get("next", ""))},
        status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _next(value: str) -> str:
    # Only a console path: never an open redirect to another site.
    return value if value.startswith("/ops/") and not value.startswith("//") else "/ops/queue"


@routes.get("/ops/login")
async def login_form(request: web.Request) -> web.Response:
    return _login_page(request)


@routes.post("/ops/login")
async def login(request: web.Request) -> web.Response:
    metrics = request.app[keys.METRICS]
    if await auth.is_locked_out(request):
        metrics.ops_logins.labels("locked_out").inc()
        return _login_page(request, "Too many failed attempts. Try again in 15 minutes.", status=429)
    form = await request.post()
    name, password, token = (str(form.get(k, "")) for k in ("name", "password", "token"))
    if not auth.check_login_token(request, token):
        metrics.ops_logins.labels("refused").inc()
        return _login_page(request, "The form expired. Please sign in again.", status=400)
    if not name or not await auth.users(request).check(name, password):
        await auth.count_failure(request)
        metrics.ops_logins.labels("failed").inc()
        return _login_page(request, "Wrong name or password.", status=401)
    metrics.ops_logins.labels("ok").inc()
    response = web.HTTPSeeOther(_next(str(form.get("next", ""))))
    await auth.start(request, name.lower(), response)
    raise response


@routes.post("/ops/logout")
@required
async def logout(request: web.Request, session: Session) -> web.Response:
    response = web.HTTPSeeOther("/ops/login")
    await auth.end(request, session, response)
    raise response


def _back(request: web.Request, form_back: str, notice: str) -> web.HTTPSeeOther:
    path, _, query = _next(form_back).partition("?")
    params = [p for p in query.split("&") if p and not p.startswith("notice=")]
    return web.HTTPSeeOther(f"{path}?{'&'.join([*params, urlencode({'notice': notice})])}")


@routes.post("/ops/npr/{mid}/{rid}/{action}")
@required
async def npr_action(request: web.Request, session: Session) -> web.Response:
    mid, rid, action = (request.match_info[k] for k in ("mid", "rid", "action"))
    if action not in OPS_ACTIONS:
        raise web.HTTPNotFound()
    form = await request.post()
    ret = await request.app[keys.RETURNS].get(mid, rid)
    merchant = await request.app[keys.MERCHANTS].get(mid)
    case = await request.app[keys.OPS].nprs.get(mid, rid)
    if ret is None or merchant is None or case is None:
        raise web.HTTPNotFound()
    if case.state != "open":
        raise _back(request, str(form.get("back", "")), f"{ret.order_id}: the case is already {case.state}")
    done = await remediator_for(request.app).act(action, ret, merchant, f"ops:{session.user}")
    text = f"{ret.order_id}: {action} {done.outcome}" + (f" – {done.detail}" if done.detail else "")
    raise _back(request, str(form.get("back", "")), text)


@routes.post("/ops/alerts/{aid}/{verb:ack|resolve}")
@required
async def alert_action(request: web.Request, session: Session) -> web.Response:
    center, aid = request.app[keys.OPS].alerts, request.match_info["aid"]
    form = await request.post()
    if request.match_info["verb"] == "ack":
        changed = await center.acknowledge(aid, session.user)
    else:
        changed = await center.resolve(aid, session.user)
    notice = f"{changed.title}: {changed.state}" if changed else "nothing to change"
    raise _back(request, str(form.get("back", "/ops/alerts")), notice)
