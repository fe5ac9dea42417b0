"""The console's pages: the failed-pickup queue, stuck shipments, carrier health and alerts."""

from __future__ import annotations

from collections import Counter
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from gateway import keys
from gateway.ops.health import CarrierHealth
from gateway.ops.remediation import OPS_ACTIONS
from gateway.ops_pages import lists
from gateway.ops_pages.auth import Session, required
from gateway.ops_pages.charts import Chart, bar_chart
from normalizers.taxonomy import Reason

routes = web.RouteTableDef()
_ALERT_STATES = ("firing", "acknowledged", "resolved")


def page(request: web.Request, session: Session, template: str, section: str, **context: Any) -> web.Response:
    response = aiohttp_jinja2.render_template(f"ops/{template}", request, {
        "user": session.user, "csrf": session.csrf, "section": section, "query": request.query,
        "path_qs": request.path_qs, "query_string": request.query_string,
        "notice": request.query.get("notice", ""), "now": request.app[keys.CLOCK].now(), **context})
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; " \
                                                  "form-action 'self'; frame-ancestors 'none'"
    return response


@routes.get("/ops")
async def home(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/ops/queue")


@routes.get("/ops/queue")
@required
async def queue(request: web.Request, session: Session) -> web.Response:
    everything, rows = await lists.queue(request)
    return page(request, session, "queue.html", "queue", rows=rows, total=len(everything), actions=OPS_ACTIONS,
                carriers=sorted({r.carrier for r in everything} | set(request.app[keys.CARRIERS].adapters)),
                reasons=[r.value for r in Reason], ages=lists.AGES,
                merchants=sorted({(r.merchant_id, r.merchant) for r in everything}, key=lambda m: m[1]))


@routes.get("/ops/queue.csv")
@required
async def queue_csv(request: web.Request, session: Session) -> web.Response:
    _, rows = await lists.queue(request)
    return lists.csv_response("failed-pickups", rows)


@routes.get("/ops/stuck")
@required
async def stuck(request: web.Request, session: Session) -> web.Response:
    return page(request, session, "stuck.html", "stuck", rows=await lists.stuck(request))


@routes.get("/ops/stuck.csv")
@required
async def stuck_csv(request: web.Request, session: Session) -> web.Response:
    return lists.csv_response("stuck-shipments", await lists.stuck(request))


async def _health(request: web.Request) -> list[CarrierHealth]:
    carriers = sorted(request.app[keys.CARRIERS].adapters)
    return await request.app[keys.OPS].health.report(carriers, request.app[keys.METRICS])


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _hours(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} h"


def health_charts(report: list[CarrierHealth]) -> list[Chart]:
    reasons: Counter[str] = Counter()
    for h in report:
        reasons.update(h.reasons)
    return [
        bar_chart("Pickup success rate", [(h.carrier, [h.success_rate], [_pct(h.success_rate)]) for h in report],
                  scale=1.0),
        bar_chart("Turnaround, booking to pickup", [
            (h.carrier, [h.turnaround_p50_h, h.turnaround_p95_h],
             [f"p50 {_hours(h.turnaround_p50_h)}", f"p95 {_hours(h.turnaround_p95_h)}"]) for h in report],
            legend=("p50", "p95")),
        bar_chart("Failed pickups by reason", [(r.replace("_", " "), [n], [str(n)]) for r, n in reasons.most_common()]),
        bar_chart("Carrier API error rate", [(h.carrier, [h.error_rate], [f"{_pct(h.error_rate)} of {h.calls}"])
                                             for h in report], scale=max([0.1, *(h.error_rate for h in report)])),
    ]


@routes.get("/ops/health")
@required
async def health(request: web.Request, session: Session) -> web.Response:
    report = await _health(request)
    return page(request, session, "health.html", "health", report=report, charts=health_charts(report),
                pct=_pct, hours=_hours)


@routes.get("/ops/health.csv")
@required
async def health_csv(request: web.Request, session: Session) -> web.Response:
    rows = [{"carrier": h.carrier, "pickups": h.pickups, "failed_attempts": h.failed_attempts,
             "success_rate": "" if h.success_rate is None else round(h.success_rate, 4),
             "turnaround_p50_h": h.turnaround_p50_h, "turnaround_p95_h": h.turnaround_p95_h,
             "api_calls": h.calls, "api_error_rate": round(h.error_rate, 4), "api_latency_p95_s": h.latency_p95_s,
             "npr_reasons": " ".join(f"{k}={v}" for k, v in h.reasons.items())} for h in await _health(request)]
    return lists.csv_response("carrier-health", rows, list(rows[0]) if rows else ["carrier"])


async def _alerts(request: web.Request) -> list[dict[str, Any]]:
    state = request.query.get("state", "")
    found = await request.app[keys.OPS].alerts.recent(500)
    return [a.model_dump(mode="json") for a in found if not state or a.state == state]


@routes.get("/ops/alerts")
@required
async def alerts(request: web.Request, session: Session) -> web.Response:
    return page(request, session, "alerts.html", "alerts", alerts=await _alerts(request), states=_ALERT_STATES)


@routes.get("/ops/alerts.csv")
@required
async def alerts_csv(request: web.Request, session: Session) -> web.Response:
    columns = ["id", "rule", "severity", "state", "title", "detail", "count", "first_at", "last_at", "carrier",
               "return_id", "acked_by", "resolved_by", "resolved_at"]
    return lists.csv_response("alerts", await _alerts(request), columns)


@routes.get("/ops/alerts/{aid}")
@required
async def alert(request: web.Request, session: Session) -> web.Response:
    raise web.HTTPSeeOther(f"/ops/alerts#{request.match_info['aid']}")
