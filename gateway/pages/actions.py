"""What a customer can do after a failed pickup: a new date, corrected details, or cancel.

Each action is a plain HTML form POST to `/t/{token}/<action>`, checked by `forms`, sent to
the carrier through the CarrierHub, recorded as a Backhaul event (so it reaches the timeline,
the merchant's feed and ops), then answered with a 303 back to the page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, date

from aiohttp import web
from pydantic import ValidationError

from carriers.base import Address, Contact
from carriers.errors import CarrierError, CarrierUnavailable
from gateway import keys
from gateway.models import Merchant, Return, ReturnCreate
from gateway.pages import estimates, forms, guard
from gateway.pages.tracking import load
from gateway.pages.view import Visit, reschedule_days, visit_for
from normalizers.taxonomy import Reason, Status, TrackingEvent

routes = web.RouteTableDef()


class BadInput(Exception):
    """The customer's form values are not usable."""


Act = Callable[[web.Request, Return, dict[str, str], Visit], Awaitable[TrackingEvent]]


def _event(ret: Return, nonce: str, status: Status, reason: Reason, raw_code: str, description: str,
           remarks: str, request: web.Request) -> TrackingEvent:
    assert ret.shipment is not None
    fingerprint = hashlib.sha256(f"backhaul|{raw_code}|{ret.id}|{nonce}".encode()).hexdigest()[:20]
    return TrackingEvent(carrier=ret.shipment.carrier, awb=ret.shipment.awb, status=status, reason=reason,
                         description=description, raw_code=raw_code, raw_description=description,
                         occurred_at=request.app[keys.CLOCK].now().astimezone(UTC), remarks=remarks,
                         fingerprint=fingerprint)


async def _carrier_call(request: web.Request, ret: Return, operation: str,
                        call: Callable[[], Awaitable[None]]) -> None:
    assert ret.shipment is not None
    await request.app[keys.CARRIERS].call(ret.shipment.carrier, operation, call)


async def _reschedule(request: web.Request, ret: Return, form: dict[str, str], visit: Visit) -> TrackingEvent:
    try:
        day = date.fromisoformat(form.get("date", ""))
    except ValueError as exc:
        raise BadInput from exc
    if day not in reschedule_days(request, ret, visit.fmt):
        raise BadInput
    assert ret.shipment is not None
    adapter, awb = request.app[keys.CARRIERS].get(ret.shipment.carrier), ret.shipment.awb
    ref = ret.shipment.carrier_reference
    if adapter.capabilities.reschedule:
        await _carrier_call(request, ret, "reschedule", lambda: adapter.reschedule(awb, day, carrier_reference=ref))
    else:
        ret = await _rebook(request, ret, lambda body: body.model_copy(update={"pickup_date": day}))
    return _event(ret, form["nonce"], Status.PICKUP_SCHEDULED, Reason.RESCHEDULE_REQUESTED,
                  estimates.CUSTOMER_RESCHEDULE, f"The customer asked for a new pickup on {day.isoformat()}",
                  day.isoformat(), request)


async def _rebook(request: web.Request, ret: Return, change: Callable[[ReturnCreate], ReturnCreate]) -> Return:
    """For a carrier that cannot reschedule: cancel, change the request, and book the pickup again.

    Raises: CarrierError when no carrier books it (the return then waits for the booking retry).
    """
    assert ret.shipment is not None
    carrier, awb, ref = ret.shipment.carrier, ret.shipment.awb, ret.shipment.carrier_reference
    adapter = request.app[keys.CARRIERS].get(carrier)
    await _carrier_call(request, ret, "cancel", lambda: adapter.cancel(awb, ref))
    ret = await request.app[keys.RETURNS].update(ret.merchant_id, ret.id, lambda current: current.model_copy(
        update={"request": change(current.requested)}))
    merchant = await request.app[keys.MERCHANTS].get(ret.merchant_id)
    assert merchant is not None
    booked = await request.app[keys.BOOKER].rebook(ret, merchant, actor="customer")
    if booked.shipment is None:
        raise CarrierUnavailable(carrier, "the pickup could not be booked again yet")
    return booked


def _corrections(ret: Return, form: dict[str, str]) -> tuple[Contact | None, Address | None]:
    phone, line1, line2 = (form.get(k, "").strip() for k in ("phone", "line1", "line2"))
    customer, address = ret.requested.customer, ret.requested.pickup_address
    try:
        contact = Contact(name=customer.name, email=customer.email, phone=phone,
                          phone_region=address.country) if phone else None
        new_address = address.model_copy(update={"line1": line1, "line2": line2}) if line1 else None
        if new_address is not None:
            new_address = Address.model_validate(new_address.model_dump())
    except ValidationError as exc:
        raise BadInput from exc
    if contact is None and new_address is None:
        raise BadInput
    return contact, new_address


async def _contact(request: web.Request, ret: Return, form: dict[str, str], visit: Visit) -> TrackingEvent:
    contact, address = _corrections(ret, form)
    assert ret.shipment is not None
    adapter, awb = request.app[keys.CARRIERS].get(ret.shipment.carrier), ret.shipment.awb
    ref = ret.shipment.carrier_reference
    # The next day the carrier picks up (its calendar), else the next working day.
    day = (reschedule_days(request, ret, visit.fmt)
           or estimates.working_days_after(visit.fmt.local_date(request.app[keys.CLOCK].now()), 1))[0]
    fixed: dict[str, Contact | Address] = {"customer": contact} if contact else {}
    if address:
        fixed["pickup_address"] = address
    if adapter.capabilities.reschedule:
        await _carrier_call(request, ret, "reschedule", lambda: adapter.reschedule(awb, day, contact, address, ref))
        await request.app[keys.RETURNS].update(ret.merchant_id, ret.id, lambda current: current.model_copy(
            update={"request": current.requested.model_copy(update=fixed)}))
    else:
        ret = await _rebook(request, ret, lambda body: body.model_copy(update=fixed))
    changed = ",".join(name for name, value in (("phone", contact), ("address", address)) if value)
    return _event(ret, form["nonce"], Status.PICKUP_SCHEDULED, Reason.RESCHEDULE_REQUESTED,
                  estimates.CUSTOMER_CONTACT, f"The customer corrected their {changed.replace(',', ' and ')}",
                  changed, request)


async def _cancel(request: web.Request, ret: Return, form: dict[str, str], visit: Visit) -> TrackingEvent:
    assert ret.shipment is not None
    adapter, awb = request.app[keys.CARRIERS].get(ret.shipment.carrier), ret.shipment.awb
    ref = ret.shipment.carrier_reference
    await _carrier_call(request, ret, "cancel", lambda: adapter.cancel(awb, ref))
    return _event(ret, form["nonce"], Status.CANCELLED, Reason.OTHER, estimates.CUSTOMER_CANCEL,
                  "The customer cancelled the return", "", request)


ACTS: dict[str, tuple[Act, str]] = {
    "reschedule": (_reschedule, "rescheduled"),
    "contact": (_contact, "contact"),
    "cancel": (_cancel, "cancelled"),
}


async def _outcome(request: web.Request, ret: Return, action: str, form: dict[str, str], visit: Visit) -> str:
    """Run one action; the answer is the page's query (`done=...` or `error=...`)."""
    if ret.status is not Status.PICKUP_FAILED or ret.shipment is None:
        return "error=closed"
    act, done = ACTS[action]
    try:
        event = await act(request, ret, form, visit)
    except BadInput:
        return "error=invalid"
    except CarrierError:
        return "error=carrier"
    await request.app[keys.INGESTOR].apply_own(ret, event)
    return f"done={done}"


def _ttl_s(request: web.Request, expiry: int) -> int:
    # Relative to the app's clock: Redis's own clock may not be the one tests and the demo move.
    return max(1, expiry - int(request.app[keys.CLOCK].now().timestamp()) + 60)


async def _claim(request: web.Request, merchant: Merchant, nonce: str, expiry: int) -> str | None:
    """Use a form nonce up; None the first time, else what the first submit ended with."""
    redis, key = request.app[keys.REDIS], guard.form_key(request, merchant.id, nonce)
    if await redis.set(key, "pending", nx=True, ex=_ttl_s(request, expiry)):
        return None
    return str(await redis.get(key) or "pending")


@routes.post("/t/{token}/{action:reschedule|contact|cancel}")
async def customer_action(request: web.Request) -> web.Response:
    found = await load(request)
    if isinstance(found, web.Response):
        return found
    ret, merchant = found
    posted = await request.post()
    form = {k: v for k, v in posted.items() if isinstance(v, str)}
    visit = visit_for(request, ret, merchant, form.get("lang"))
    action = request.match_info["action"]
    secret = request.app[keys.SETTINGS].page_secret.get_secret_value()
    try:
        forms.check_origin(request, visit.base)
        nonce, expiry = forms.verify(secret, ret.tracking_token, action, form.get("form_token", ""),
                                     request.app[keys.CLOCK].now())
    except forms.FormRefused as refused:
        raise web.HTTPSeeOther(visit.url(**{"error": refused.why})) from None
    earlier = await _claim(request, merchant, nonce, expiry)
    if earlier is not None:
        # A double submit: answer like the first one did (or will).
        query = earlier if earlier != "pending" else ""
    else:
        query = await _outcome(request, ret, action, form | {"nonce": nonce}, visit)
        await request.app[keys.REDIS].set(guard.form_key(request, merchant.id, nonce), query,
                                          ex=_ttl_s(request, expiry))
    name, _, value = query.partition("=")
    raise web.HTTPSeeOther(visit.url(**({name: value} if name else {})) + "#status")
