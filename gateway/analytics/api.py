"""`GET /v1/analytics/returns`: the merchant's own counters, grouped, as JSON or CSV."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from gateway import keys
from gateway.analytics import report
from gateway.analytics.query import GROUPS, BadQuery, dimension_of, group, read_days, to_csv
from gateway.api.common import json_response, merchant_of
from gateway.problems import Problem
from gateway.store.keys import Keys

routes = web.RouteTableDef()
DEFAULT_DAYS = 30


def _bad(field: str, message: str) -> Problem:
    return Problem(422, "validation-error", "The query is not valid", f"{field}: {message}",
                   [{"field": field, "message": message, "type": "value_error"}])


def date_range(request: web.Request) -> tuple[date, date]:
    """`from` and `to` (ISO dates, inclusive); the last 30 days by default. Raises: Problem 422."""
    today = request.app[keys.CLOCK].now().date()
    try:
        end = date.fromisoformat(request.query["to"]) if request.query.get("to") else today
    except ValueError as exc:
        raise _bad("to", "not an ISO date (YYYY-MM-DD)") from exc
    try:
        start = date.fromisoformat(request.query["from"]) if request.query.get("from") else end - timedelta(
            days=DEFAULT_DAYS - 1)
    except ValueError as exc:
        raise _bad("from", "not an ISO date (YYYY-MM-DD)") from exc
    return start, end


async def rows_for(request: web.Request, mid: str) -> tuple[str, date, date, list[dict[str, object]]]:
    group_by = request.query.get("group_by", "reason")
    if group_by not in GROUPS:
        raise _bad("group_by", f"one of {', '.join(GROUPS)}")
    start, end = date_range(request)
    try:
        days = await read_days(request.app[keys.REDIS], Keys(request.app[keys.SETTINGS].key_prefix), mid, start, end,
                               dimension_of(group_by))
    except BadQuery as exc:
        raise _bad("from", str(exc)) from exc
    return group_by, start, end, group(days, group_by)


@routes.get("/v1/analytics/returns")
async def returns_analytics(request: web.Request) -> web.Response:
    merchant = await merchant_of(request)
    group_by, start, end, rows = await rows_for(request, merchant.id)
    wants_csv = request.query.get("format") == "csv" or "text/csv" in request.headers.get("Accept", "")
    if wants_csv:
        name = f"returns-{group_by}-{start}-{end}.csv"
        return web.Response(text=to_csv(rows), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return json_response({"group_by": group_by, "from": start.isoformat(), "to": end.isoformat(), "data": rows})


async def report_for(request: web.Request, mids: Sequence[str]) -> report.Report:
    """The pages' figures over `from`/`to`. Raises: Problem 422."""
    start, end = date_range(request)
    try:
        return await report.build(request.app[keys.REDIS], Keys(request.app[keys.SETTINGS].key_prefix), mids,
                                  start, end)
    except BadQuery as exc:
        raise _bad("from", str(exc)) from exc


def html_headers(response: web.StreamResponse) -> web.StreamResponse:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; " \
                                                  "form-action 'self'; frame-ancestors 'none'"
    return response


@routes.get("/v1/analytics/returns.html")
async def returns_page(request: web.Request) -> web.StreamResponse:
    """The merchant's own figures as server-rendered SVG charts, with CSV links to the API above."""
    merchant = await merchant_of(request)
    found = await report_for(request, [merchant.id])
    links = [(g, "/v1/analytics/returns?" + urlencode({"group_by": g, "from": found.start, "to": found.end,
                                                        "format": "csv"})) for g in report.CSV_GROUPS]
    return html_headers(aiohttp_jinja2.render_template("analytics/returns.html", request, {
        "merchant": merchant.display_name or merchant.name, "report": found, "charts": report.charts(found),
        "csv_links": links}))
