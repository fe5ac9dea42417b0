"""`/ops/analytics`: returns analytics over every merchant, or one, as SVG charts; and its CSV."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from gateway import keys
from gateway.analytics import report
from gateway.analytics.api import date_range, html_headers, report_for
from gateway.analytics.query import GROUPS, BadQuery, group, to_csv
from gateway.ops_pages.auth import Session, required
from gateway.ops_pages.lists import merchant_names
from gateway.ops_pages.views import page
from gateway.store.keys import Keys
from gateway.store.server import text

routes = web.RouteTableDef()


async def _merchants(request: web.Request) -> tuple[list[str], dict[str, str]]:
    """The merchants the query covers (one, or all with counters) and every such merchant's name."""
    k = Keys(request.app[keys.SETTINGS].key_prefix)
    known = sorted(text(m) for m in await request.app[keys.REDIS].smembers(k.analytics_merchants()))
    names = await merchant_names(request, known)
    chosen = request.query.get("merchant", "")
    return ([chosen] if chosen in names else known), names


@routes.get("/ops/analytics")
@required
async def analytics(request: web.Request, session: Session) -> web.StreamResponse:
    mids, names = await _merchants(request)
    found = await report_for(request, mids)
    merchant = request.query.get("merchant", "")
    links = [(g, "/ops/analytics.csv?" + urlencode({"group_by": g, "merchant": merchant, "from": found.start,
                                                     "to": found.end})) for g in report.CSV_GROUPS]
    return page(request, session, "analytics.html", "analytics", report=found, charts=report.charts(found),
                csv_links=links, merchants=sorted(names.items(), key=lambda m: m[1]),
                scope=names[merchant] if merchant in names else "All merchants")


@routes.get("/ops/analytics.csv")
@required
async def analytics_csv(request: web.Request, session: Session) -> web.StreamResponse:
    group_by = request.query.get("group_by", "reason")
    if group_by not in GROUPS:
        raise web.HTTPBadRequest(text=f"group_by: one of {', '.join(GROUPS)}")
    mids, _ = await _merchants(request)
    start, end = date_range(request)
    try:
        days = await report.days_for(request.app[keys.REDIS], Keys(request.app[keys.SETTINGS].key_prefix), mids,
                                     start, end, group_by)
    except BadQuery as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    name = f"returns-{group_by}-{start}-{end}.csv"
    return html_headers(web.Response(text=to_csv(group(days, group_by)), content_type="text/csv", charset="utf-8",
                                     headers={"Content-Disposition": f'attachment; filename="{name}"'}))
