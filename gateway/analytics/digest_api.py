"""`/v1/analytics/digest`: who gets the merchant's daily digest and when, and a preview of it."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway import keys
from gateway.analytics.digest_schedule import DigestSender, latest_day, sender_for
from gateway.api.common import json_response, merchant_of, parse_json, validate
from gateway.models import DigestEmail, Merchant
from gateway.problems import Problem
from gateway.store.keys import Keys

routes = web.RouteTableDef()


class DigestPrefs(BaseModel):
    """The body of `PUT /v1/analytics/digest`; no emails means no digest."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    emails: list[DigestEmail] = Field(default_factory=list, max_length=10)
    hour: int = Field(default=8, ge=0, le=23, description="the merchant's local hour the digest is sent at")

    @field_validator("emails")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(e.lower() for e in value))


def _sender(request: web.Request) -> DigestSender:
    app = request.app
    return sender_for(app[keys.SETTINGS], app[keys.REDIS], app[keys.CLOCK], app[keys.METRICS])


def _view(merchant: Merchant, sender: DigestSender) -> dict[str, Any]:
    due = sender.next_due(merchant, sender.deps.clock.now()) if merchant.digest_emails else None
    return {"emails": merchant.digest_emails, "hour": merchant.digest_hour, "time_zone": sender.zone(merchant).key,
            "next_due_at": due.isoformat() if due else None}


@routes.get("/v1/analytics/digest")
async def get_digest(request: web.Request) -> web.Response:
    merchant = await merchant_of(request)
    return json_response(_view(merchant, _sender(request)))


@routes.put("/v1/analytics/digest")
async def put_digest(request: web.Request) -> web.Response:
    """Replace the recipients and hour; the next digest is scheduled at once."""
    merchant = await merchant_of(request)
    prefs = validate(DigestPrefs, parse_json(await request.read()))
    updated = merchant.model_copy(update={"digest_emails": prefs.emails, "digest_hour": prefs.hour})
    await request.app[keys.REDIS].set(Keys(request.app[keys.SETTINGS].key_prefix).merchant(merchant.id),
                                      updated.model_dump_json())
    sender = _sender(request)
    await sender.enroll(updated)
    return json_response(_view(updated, sender))


@routes.get("/v1/analytics/digest/preview")
async def preview_digest(request: web.Request) -> web.Response:
    """The digest of `date` (default: the latest one due) as text, or as HTML with `format=html`."""
    merchant = await merchant_of(request)
    sender = _sender(request)
    raw = request.query.get("date", "")
    try:
        day = date.fromisoformat(raw) if raw else latest_day(sender.deps.clock.now(), sender.zone(merchant),
                                                               merchant.digest_hour)
    except ValueError as exc:
        raise Problem(422, "validation-error", "The query is not valid", "date: not an ISO date (YYYY-MM-DD)",
                      [{"field": "date", "message": "not an ISO date (YYYY-MM-DD)", "type": "value_error"}]) from exc
    mail = await sender.compose(merchant, day)
    if request.query.get("format") == "html":
        return web.Response(text=mail.html, content_type="text/html", headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})
    return web.Response(text=f"Subject: {mail.subject}\n\n{mail.text}", content_type="text/plain")
