"""Create a return and book its reverse pickup, walking the ranked carriers with failover.

Before anything is written the policy admits the return and the rules rank the carriers. The
return is then written before the first carrier is called, so it is never lost. The walk:
not serviceable or rejected, the next carrier; transient (the adapter already retried with
backoff), the next carrier; circuit open or rate limit full (gateway/carrier_guard.py: the
carrier was not called, so no orphan check), the next carrier; all failed, the return stays
`created` with every attempt's reason, the poller retries the booking and ops are alerted. A booking lease and the
carriers' reference-idempotent booking make sure a return is booked once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable

from carriers.base import Booking, PickupRequest
from carriers.errors import (
    CarrierError,
    CarrierRejected,
    CarrierUnavailable,
    CircuitOpen,
    NotServiceable,
    RateLimited,
)
from gateway import fulfilment
from gateway.analytics.counters import Counters
from gateway.carrier_hub import CarrierHub
from gateway.metrics import Metrics
from gateway.models import (
    AuditEntry,
    BookingAttempt,
    Merchant,
    Return,
    ReturnCreate,
    Review,
    Shipment,
    new_id,
    new_token,
)
from gateway.problems import Problem
from gateway.rules.decision import Decision
from gateway.rules.service import Admission, Rules, drop_live
from gateway.store.returns import ReturnStore
from normalizers.machine import ShipmentState

log = logging.getLogger(__name__)
RETRY_BOOKING_S = 60.0
BOOKING_LEASE_S = 60
_PERMANENT = frozenset({"rejected", "not_serviceable"})
Alert = Callable[[Return, str], Awaitable[None]]


@runtime_checkable
class FindsBookings(Protocol):
    """An adapter that can look a booking up by our reference (to cancel one whose answer was lost)."""

    async def find_booking(self, reference: str) -> Booking | None: ...


@dataclass(frozen=True)
class Booker:
    store: ReturnStore
    hub: CarrierHub
    metrics: Metrics
    rules: Rules
    # Ops (gateway/ops/core.py): told when every carrier failed, and of each booking, so a
    # shipment the carrier never scans is watched as stuck from the moment it was booked.
    alert: Alert | None = None
    on_booked: Callable[[Return], Awaitable[None]] | None = None
    # Returns analytics (gateway/analytics/): counted once created, and once booked.
    analytics: Counters | None = None

    def new_return(self, merchant: Merchant, body: ReturnCreate) -> Return:
        drop, contact = body.drop_address or merchant.return_address, body.drop_contact or merchant.return_contact
        if drop is None or contact is None:
            raise Problem(422, "validation-error", "The request body is not valid",
                          "drop_address: required, as this merchant has no default return address",
                          [{"field": "drop_address", "message": "required", "type": "missing"}])
        if body.carrier and body.carrier not in self.hub.adapters:
            raise Problem(422, "validation-error", "The request body is not valid",
                          f"carrier: {body.carrier!r} is not an enabled carrier",
                          [{"field": "carrier", "message": "not an enabled carrier", "type": "enum"}])
        now = self.store.clock.now()
        return Return(id=new_id("ret"), merchant_id=merchant.id, order_id=body.order_id, created_at=now,
                      updated_at=now, request=body, drop_address=drop, drop_contact=contact,
                      state=ShipmentState.initial(), tracking_token=new_token())

    async def decide(self, merchant: Merchant, ret: Return, needs_qc: bool) -> Decision:
        """The ranking, with carriers that have no table asked live (read-only) whether they serve the lane."""
        decision = await self.rules.decide(merchant, ret.requested, ret.drop_to[0], self.store.clock.now(), needs_qc)
        refused: dict[str, str] = {}
        pickup, parcel = ret.requested.pickup_address, ret.requested.parcel
        for scored in decision.ranked:
            if scored.serviceability != "live":
                continue
            code = scored.carrier
            adapter = self.hub.get(code)
            try:
                answer = await self.hub.call(code, "serviceability", lambda a=adapter: a.serviceability(  # type: ignore[misc]
                    pickup, ret.drop_to[0], parcel))
            except CarrierUnavailable:
                continue  # unknown is not a no: the booking walk finds out
            except CarrierError as exc:
                refused[code] = f"serviceability check failed: {exc.detail}"
                continue
            if not answer.is_serviceable:
                refused[code] = answer.reason or "not serviceable"
        decision = drop_live(decision, refused)
        return fulfilment.only_drop_off(decision, self.hub.adapters) if fulfilment.is_drop_off(ret.requested) \
            else decision

    async def create(self, merchant: Merchant, body: ReturnCreate) -> Return:
        """Raises: Problem 422 when the policy refuses, no carrier serves the lane or every carrier refused."""
        ret = self.new_return(merchant, body)
        fulfilment.check(body, self.hub.adapters)
        admission = await self.rules.admit(merchant, body, ret.created_at)
        decision = await self.decide(merchant, ret, admission.verdict.needs_qc)
        if not decision.ranked:
            if any(e.reason == fulfilment.NO_DROP_OFF for e in decision.excluded):
                raise fulfilment.drop_off_unavailable(decision)
            raise _not_serviceable(body, decision)
        limit = None if admission.is_override else admission.policy.max_returns_per_order
        if not await self.rules.orders.take(merchant.id, body.order_id, limit):
            raise Problem(422, "policy-violation", "The return policy does not allow this return",
                          f"max_returns_per_order: order {body.order_id} has its {limit} return(s) already",
                          rule="max_returns_per_order", rules=["max_returns_per_order"])
        ret = ret.model_copy(update={"allocation": decision, "audit": list(admission.audit),
                                     "review": _review(admission)})
        await self.store.insert(ret)
        if ret.review is not None:
            score = int(ret.created_at.timestamp() * 1000)
            await self.store.redis.zadd(self.store.keys.reviews(merchant.id), {ret.id: score})
        else:
            ret = await self._book_new(ret, merchant)
        if self.analytics is not None:
            await self.analytics.created(ret)
        return ret

    async def _book_new(self, ret: Return, merchant: Merchant) -> Return:
        ret = await self.book(ret, merchant, is_creating=True)
        if ret.shipment is None and ret.booking_attempts and all(a.outcome in _PERMANENT for a in ret.booking_attempts):
            # Nothing transient went wrong, so retrying cannot help: tell the merchant now, keep nothing.
            await self.store.discard(ret)
            await self.rules.orders.give_back(ret.merchant_id, ret.order_id)
            detail = "; ".join(f"{a.carrier}: {a.detail}" for a in ret.booking_attempts)
            raise Problem(422, "carrier-rejected", "The carrier refused the request", detail)
        return ret

    async def retry(self, ret: Return, merchant: Merchant) -> Return:
        """Book a return that is still unbooked (the poller calls this): rank again, walk again."""
        decision = await self.decide(merchant, ret, any(i.qc is not None for i in ret.requested.items))
        if decision.ranked:
            ret = await self.store.update(ret.merchant_id, ret.id,
                                          lambda r: r.model_copy(update={"allocation": decision}))
        return await self.book(ret, merchant)

    async def reallocate(self, ret: Return, merchant: Merchant, exclude: Collection[str], actor: str) -> Return:
        """Book again with the next ranked carrier not in `exclude`, once the current booking is cancelled.

        The return keeps its id and tracking token; the old booking stays as an attempt and an audit entry.
        """
        order = [c for c in (ret.allocation.order if ret.allocation else self.hub.order) if c not in exclude]
        return await self._book_again(ret, merchant, order, "reallocated", actor)

    async def rebook(self, ret: Return, merchant: Merchant, actor: str) -> Return:
        """Book the same pickup again (a new date, corrected details) where the carrier cannot reschedule.

        The current carrier is tried first; the caller has cancelled the current booking.
        """
        first = ret.shipment.carrier if ret.shipment else None
        ranked = ret.allocation.order if ret.allocation else self.hub.order
        order = ([first] if first else []) + [c for c in ranked if c != first]
        return await self._book_again(ret, merchant, order, "rebooked", actor)

    async def _book_again(self, ret: Return, merchant: Merchant, order: list[str], outcome: str,
                          actor: str) -> Return:
        old, now = ret.shipment, self.store.clock.now()
        moved = [BookingAttempt(carrier=old.carrier, outcome=outcome, detail=f"cancelled AWB {old.awb}", at=now)
                 ] if old else []
        action = {"reallocated": "reallocate", "rebooked": "rebook"}[outcome]
        audit = AuditEntry(at=now, action=action, actor=actor,
                           detail=f"from {old.carrier if old else '-'} to the first of {order} that books")
        ret = await self.store.update(ret.merchant_id, ret.id, lambda r: r.model_copy(update={
            "shipment": None, "booking_attempts": [*r.booking_attempts, *moved], "audit": [*r.audit, audit]}))
        if old is not None:
            # Scans of the cancelled AWB must not reach the return any more.
            await self.store.unindex_awb(old.carrier, old.awb)
        return await self.book(ret, merchant, codes=order)

    async def book(self, ret: Return, merchant: Merchant, codes: list[str] | None = None,
                   is_creating: bool = False) -> Return:
        """Walk the ranking (or `codes`); the first carrier that books wins. One walker per return at a time."""
        lock = self.store.keys.booking_lock(ret.merchant_id, ret.id)
        if not await self.store.redis.set(lock, "1", nx=True, ex=BOOKING_LEASE_S):
            return ret  # another process is booking this return right now
        try:
            fresh = await self.store.get(ret.merchant_id, ret.id)
            if fresh is None or fresh.shipment is not None:
                return fresh or ret
            order = codes if codes is not None else (fresh.allocation.order if fresh.allocation else self.hub.order)
            return await self._walk(fresh, merchant, order, is_creating)
        finally:
            await self.store.redis.delete(lock)

    async def _walk(self, ret: Return, merchant: Merchant, order: list[str], is_creating: bool) -> Return:
        request = self.pickup_request(ret, merchant)
        uncertain: list[str] = []
        outcomes: list[str] = []
        for code in order:
            asked = self._for_carrier(code, request, ret, merchant)
            outcome, detail, booking = await self._try(code, asked)
            if booking is not None:
                ret = await self.record_booking(ret, code, booking, asked.pickup_date)
                await self._cancel_orphans(ret, uncertain)
                return ret
            ret = await self.record_attempt(ret, code, outcome, detail)
            outcomes.append(outcome)
            if outcome == "unavailable":
                uncertain.append(code)
        await self._exhausted(ret, outcomes, is_creating)
        return ret

    async def _try(self, code: str, request: PickupRequest) -> tuple[str, str, Booking | None]:
        if code not in self.hub.adapters:
            return "not_configured", f"{code} is not an enabled carrier", None
        if request.drop_off and not fulfilment.offers_drop_off(self.hub.adapters, code):
            return "not_serviceable", f"{code} books no drop-off returns", None
        now = self.store.clock.now()
        if not await self.rules.capacity.reserve(code, now):
            return "at_capacity", "today's pickup cap is used up", None
        try:
            booking = await self.hub.call(code, "book_pickup", lambda: self.hub.get(code).book_pickup(request))
        except CarrierError as exc:
            await self.rules.capacity.release(code, now)
            return _outcome(exc), exc.detail, None
        return "booked", "", booking

    async def _cancel_orphans(self, ret: Return, uncertain: list[str]) -> None:
        """A carrier that timed out may have booked anyway: find such a booking and cancel it."""
        for code in uncertain:
            adapter = self.hub.adapters.get(code)
            if not isinstance(adapter, FindsBookings):
                log.warning("possible orphan booking", extra={"carrier": code, "return_id": ret.id})
                self.metrics.booking_orphans.labels(code, "unchecked").inc()
                continue
            try:
                orphan = await adapter.find_booking(ret.id)
                if orphan is not None:
                    await self.hub.call(code, "cancel",
                                        lambda a=adapter, o=orphan: a.cancel(o.awb, o.carrier_reference))
                    await self.record_attempt(ret, code, "orphan_cancelled", f"cancelled duplicate AWB {orphan.awb}")
                    self.metrics.booking_orphans.labels(code, "cancelled").inc()
            except CarrierError as exc:
                log.error("orphan booking not cancelled", extra={"carrier": code, "return_id": ret.id,
                                                                 "error": exc.detail})
                self.metrics.booking_orphans.labels(code, "failed").inc()

    async def _exhausted(self, ret: Return, outcomes: list[str], is_creating: bool) -> None:
        """Every carrier failed: keep the return, retry later, tell ops."""
        is_permanent = bool(outcomes) and set(outcomes) <= _PERMANENT
        if is_creating and is_permanent:
            return  # the creator answers 422 and keeps nothing: the merchant is told, not ops
        reason = "unavailable" if "unavailable" in outcomes else (outcomes[0] if outcomes else "no_carrier")
        self.metrics.booking_exhausted.labels(reason).inc()
        log.error("booking exhausted every carrier", extra={
            "return_id": ret.id, "merchant_id": ret.merchant_id, "reason": reason, "outcomes": outcomes})
        if not is_permanent:
            due = self.store.clock.now().timestamp() + RETRY_BOOKING_S
            await self.store.schedule_poll(ret.merchant_id, ret.id, due)
        if self.alert is not None:
            await self.alert(ret, reason)

    async def record_booking(self, ret: Return, code: str, booking: Booking,
                             pickup_date: date | None = None) -> Return:
        now = self.store.clock.now()
        shipment = Shipment(carrier=code, awb=booking.awb, carrier_reference=booking.carrier_reference,
                            booked_at=now, label_fields=booking.label_fields, pickup_date=pickup_date)
        attempt = BookingAttempt(carrier=code, outcome="booked", at=now)
        self.metrics.bookings.labels(code, "booked").inc()
        ret = await self.store.update(ret.merchant_id, ret.id, lambda r: r.model_copy(
            update={"shipment": shipment, "booking_attempts": [*r.booking_attempts, attempt]}))
        await self.store.index_awb(ret)
        await self.store.schedule_poll(ret.merchant_id, ret.id, now.timestamp())
        if self.analytics is not None:
            await self.analytics.booked(ret)
        if self.on_booked is not None:
            await self.on_booked(ret)
        return ret

    async def record_attempt(self, ret: Return, code: str, outcome: str, detail: str) -> Return:
        self.metrics.bookings.labels(code, outcome).inc()
        log.info("booking attempt failed", extra={"carrier": code, "return_id": ret.id, "outcome": outcome})
        attempt = BookingAttempt(carrier=code, outcome=outcome, detail=detail[:500], at=self.store.clock.now())
        return await self.store.update(ret.merchant_id, ret.id, lambda r: r.model_copy(
            update={"booking_attempts": [*r.booking_attempts, attempt]}))

    def pickup_request(self, ret: Return, merchant: Merchant) -> PickupRequest:
        body = ret.requested
        # A pickup booked again (re-booked or re-allocated) needs a new reference: carriers treat a
        # repeated one as the first booking, which is cancelled.
        again = sum(1 for a in ret.booking_attempts if a.outcome in ("reallocated", "rebooked"))
        reference = f"{ret.id}-{again + 1}" if again else ret.id
        return PickupRequest(reference=reference, pickup_address=body.pickup_address, pickup_contact=body.customer,
                             drop_address=ret.drop_to[0], drop_contact=ret.drop_to[1], parcel=body.parcel,
                             items=tuple(body.items), reason=body.reason, pickup_date=body.pickup_date,
                             warehouse=merchant.warehouse, drop_off=fulfilment.is_drop_off(body))

    def _for_carrier(self, code: str, request: PickupRequest, ret: Return, merchant: Merchant) -> PickupRequest:
        """The request with a pickup date `code` serves (its pickup calendar): a failover may reach a
        carrier that does not come on the day the customer chose, and a retry may come after that day."""
        day = fulfilment.pickup_day(self.rules.calendar, code, ret.requested, merchant, self.store.clock.now())
        return request if day == request.pickup_date else request.model_copy(update={"pickup_date": day})


def _review(admission: Admission) -> Review | None:
    reasons = admission.verdict.review_reasons
    return Review(reasons=list(reasons)) if reasons else None


def _not_serviceable(body: ReturnCreate, decision: Decision) -> Problem:
    reasons = [{"carrier": e.carrier, "reason": e.reason, "detail": e.detail, "rule": e.rule}
               for e in decision.excluded]
    return Problem(422, "not-serviceable", "No carrier serves this pickup",
                   f"pickup_address.postcode: no enabled carrier picks up at {body.pickup_address.postcode}",
                   [{"field": "pickup_address.postcode", "message": "not serviceable", "type": "lane"}],
                   excluded=reasons)


def _outcome(exc: CarrierError) -> str:
    if isinstance(exc, NotServiceable):
        return "not_serviceable"
    if isinstance(exc, CarrierRejected):
        return "rejected"
    if isinstance(exc, CircuitOpen):
        return "circuit_open"
    if isinstance(exc, RateLimited):
        return "rate_limited"
    if isinstance(exc, CarrierUnavailable):
        return "unavailable"
    return "error"
