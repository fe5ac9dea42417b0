"""What the tracking page shows, built from a return, its events and its merchant."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from gateway import keys
from gateway.models import Merchant, Return
from gateway.pages import dropoff, estimates, forms, texts
from gateway.pages.branding import palette
from gateway.pages.i18n import LANGUAGES, Formatter, choose_language, choose_time_zone, translations
from normalizers.machine import ordered
from normalizers.taxonomy import Status, TrackingEvent

# Carriers' own public tracking pages; the AWB is the only thing put in the link.
CARRIER_TRACKING = {"delhivery": "https://www.delhivery.com/track/package/{awb}"}
STEPS = (texts.N_("Requested"), texts.N_("Picked up"), texts.N_("On the way"), texts.N_("At the store"))
ACTIONS = ("reschedule", "contact", "cancel")


@dataclass(frozen=True)
class Visit:
    """One customer's view of one return: language, zone and where the page lives."""

    token: str
    lang: str
    fmt: Formatter
    base: str
    tz_param: str = ""

    def url(self, suffix: str = "", **query: str) -> str:
        params = {"lang": self.lang, "tz": self.tz_param, **query}
        params = {k: v for k, v in params.items() if v}
        return f"{self.base}/t/{self.token}{suffix}?{urlencode(params)}"


def visit_for(request: web.Request, ret: Return, merchant: Merchant, lang: str | None = None) -> Visit:
    chosen = choose_language(lang or request.query.get("lang"), request.headers.get("Accept-Language", ""))
    country = ret.request.pickup_address.country if ret.request else ""
    tz = choose_time_zone(request.query.get("tz"), country, merchant.time_zone)
    base = merchant.public_base(request.app[keys.SETTINGS].public_url)
    asked_tz = request.query.get("tz", "")
    return Visit(ret.tracking_token, chosen, Formatter(chosen, tz), base, asked_tz if str(tz) == asked_tz else "")


def mask_phone(phone: str) -> str:
    return "•" * max(0, len(phone) - 4) + phone[-4:]


def mask_street(line: str) -> str:
    return line[:3] + "•" * min(8, max(0, len(line) - 3))


def _step(ret: Return) -> int | None:
    if ret.status in (Status.CANCELLED, Status.RETURNED_TO_SENDER):
        return None
    if ret.state.delivered_at is not None:
        return 3
    return 0 if ret.state.phase < 30 else (1 if ret.state.phase < 40 else 2)


def _timeline(events: list[TrackingEvent], visit: Visit) -> list[dict[str, str]]:
    gettext = translations(visit.lang).gettext
    items = []
    for event in reversed(ordered(events)):
        reason = texts.REASONS[event.reason] if event.reason else ""
        items.append({
            "label": gettext(texts.LABELS[event.status]),
            "reason": gettext(reason) if reason else "",
            "when": visit.fmt.when(event.occurred_at),
            "iso": event.occurred_at.isoformat(),
            "location": event.location,
        })
    return items


def _recommendations(merchant: Merchant, visit: Visit) -> list[dict[str, str]]:
    return [{"title": r.title, "image_url": r.image_url, "href": visit.url(f"/r/{n}"),
             "price": visit.fmt.money(r.price, r.currency) if r.price is not None else ""}
            for n, r in enumerate(merchant.recommendations)]


def reschedule_days(request: web.Request, ret: Return, fmt: Formatter) -> list[date]:
    """The new pickup dates the customer may choose: the carrier's own pickup days from tomorrow.

    The same calendar as the portal's (config/pickup_calendar.yaml), so a carrier that does not
    pick up on Saturdays is never asked to; the form's answer is checked against this list.
    """
    assert ret.shipment is not None
    now_local = request.app[keys.CLOCK].now().astimezone(fmt.tz)
    country = ret.request.pickup_address.country if ret.request else ""
    days = request.app[keys.RULES].calendar.days(ret.shipment.carrier, now_local, country)
    return [d for d in days if d > now_local.date()][:estimates.RESCHEDULE_CHOICES]


def _actions(request: web.Request, ret: Return, visit: Visit) -> dict[str, Any] | None:
    if ret.status is not Status.PICKUP_FAILED or ret.shipment is None or ret.request is None:
        return None
    capabilities = request.app[keys.CARRIERS].get(ret.shipment.carrier).capabilities
    secret = request.app[keys.SETTINGS].page_secret.get_secret_value()
    now = request.app[keys.CLOCK].now()
    days = reschedule_days(request, ret, visit.fmt)
    return {
        # Without a reschedule API the pickup is cancelled and booked again for the new date.
        "can_reschedule": True,
        "can_cancel": capabilities.cancel,
        "dates": [{"value": d.isoformat(), "label": visit.fmt.short_day(d)} for d in days],
        "tokens": {a: forms.issue(secret, visit.token, a, now) for a in ACTIONS},
        "urls": {a: visit.url(f"/{a}") for a in ACTIONS},
    }


def _notice(request: web.Request, visit: Visit) -> tuple[str, str]:
    gettext = translations(visit.lang).gettext
    done, error = request.query.get("done", ""), request.query.get("error", "")
    if done in texts.DONE:
        return "done", gettext(texts.DONE[done])
    if error in texts.ERRORS:
        return "error", gettext(texts.ERRORS[error])
    return "", ""


def _carrier(request: web.Request, ret: Return) -> dict[str, str] | None:
    if ret.shipment is None:
        return None
    code, awb = ret.shipment.carrier, ret.shipment.awb
    link = CARRIER_TRACKING.get(code, "")
    return {"name": request.app[keys.CARRIERS].get(code).name, "awb": awb,
            "link": link.format(awb=awb) if link else ""}


def page_context(request: web.Request, ret: Return, merchant: Merchant, events: list[TrackingEvent],
                 visit: Visit) -> dict[str, Any]:
    """Everything `tracking.html` renders."""
    gettext = translations(visit.lang).gettext
    state = ret.state
    expect = estimates.expected(ret, events, visit.fmt.local_date(request.app[keys.CLOCK].now()))
    address = ret.request.pickup_address if ret.request else None
    notice_kind, notice = _notice(request, visit)
    drop_off = dropoff.guidance(ret, gettext, visit.url("/label"))
    return {
        "lang": visit.lang,
        "languages": [{"code": c, "name": n, "url": visit.url(lang=c)} for c, n in LANGUAGES.items()],
        "merchant": merchant,
        "brand_name": merchant.display_name or merchant.name,
        "css": palette(merchant.primary_color, merchant.accent_color, merchant.font),
        "nonce": secrets.token_urlsafe(12),
        "headline": gettext(texts.HEADLINES[state.status]),
        "detail": gettext(texts.DETAILS[state.status]),
        "reason": gettext(texts.REASONS[state.reason]) if state.reason else "",
        "status": state.status.value,
        "attempts": state.pickup_attempts,
        "is_failed": state.status is Status.PICKUP_FAILED,
        "step": _step(ret),
        "steps": [gettext(s) for s in STEPS],
        "pickup_day": visit.fmt.day(expect.pickup) if expect.pickup and not drop_off else "",
        "drop_off": drop_off,
        "arrival_day": visit.fmt.day(expect.arrival) if expect.arrival else "",
        "has_arrived": expect.has_arrived,
        "notice_kind": notice_kind,
        "notice": notice,
        "timeline": _timeline(events, visit),
        "order_id": ret.order_id,
        "carrier": _carrier(request, ret),
        "area": f"{mask_street(address.line1)}, {address.city} {address.postcode}" if address else "",
        "phone": mask_phone(ret.request.customer.phone) if ret.request else "",
        "actions": _actions(request, ret, visit),
        "recommendations": _recommendations(merchant, visit),
        "page_url": visit.url(),
        "live_url": visit.url("/live"),
        "tz": str(visit.fmt.tz),
    }


def image_origins(merchant: Merchant) -> list[str]:
    """The origins the merchant's own images come from, for the Content-Security-Policy."""
    urls = [merchant.logo_url, *(r.image_url for r in merchant.recommendations)]
    origins = {f"https://{urlsplit(u).netloc}" for u in urls if u.startswith("https://")}
    return sorted(origins)
