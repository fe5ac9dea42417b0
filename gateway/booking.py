"""Create a return and book its reverse pickup, walking the carriers in order.

A return is written before the first carrier is called, so it is never lost; a carrier
that is down leaves it `created` with the reasons, and the poller retries the booking.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from carriers.base import Booking, PickupRequest
from carriers.errors import CarrierError, CarrierRejected, CarrierUnavailable, NotServiceable
from gateway.carrier_hub import CarrierHub
from gateway.metrics import Metrics
from gateway.models import BookingAttempt, Merchant, Return, ReturnCreate, Shipment, new_id, new_token
from gateway.problems import Problem
from gateway.store.returns import ReturnStore
from normalizers.machine import ShipmentState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Booker:
    store: ReturnStore
    hub: CarrierHub
    metrics: Metrics

    def candidates(self, body: ReturnCreate) -> list[str]:
        """Raises: Problem when the merchant forces a carrier Backhaul does not have."""
        if body.carrier:
            if body.carrier not in self.hub.adapters:
                raise Problem(422, "validation-error", "The request body is not valid",
                              f"carrier: {body.carrier!r} is not an enabled carrier",
                              [{"field": "carrier", "message": "not an enabled carrier", "type": "enum"}])
            return [body.carrier]
        return list(self.hub.order)

    async def serviceable(self, codes: list[str], body: ReturnCreate, merchant: Merchant) -> list[str]:
        """The carriers that serve this lane; asks each, read-only, before anything is written."""
        drop = body.drop_address or merchant.return_address
        assert drop is not None
        out = []
        for code in codes:
            adapter = self.hub.get(code)
            answer = await self.hub.call(code, "serviceability",
                                         lambda a=adapter: a.serviceability(body.pickup_address, drop,  # type: ignore[misc]
                                                                            body.parcel))
            if answer.is_serviceable:
                out.append(code)
        return out

    def new_return(self, merchant: Merchant, body: ReturnCreate) -> Return:
        drop, contact = body.drop_address or merchant.return_address, body.drop_contact or merchant.return_contact
        if drop is None or contact is None:
            raise Problem(422, "validation-error", "The request body is not valid",
                          "drop_address: required, as this merchant has no default return address",
                          [{"field": "drop_address", "message": "required", "type": "missing"}])
        now = self.store.clock.now()
        return Return(id=new_id("ret"), merchant_id=merchant.id, order_id=body.order_id, created_at=now,
                      updated_at=now, request=body, drop_address=drop, drop_contact=contact,
                      state=ShipmentState.initial(), tracking_token=new_token())

    async def create(self, merchant: Merchant, body: ReturnCreate) -> Return:
        """Raises: Problem (422) when no carrier serves the lane or every carrier refused the input."""
        ret = self.new_return(merchant, body)
        codes = await self.serviceable(self.candidates(body), body, merchant)
        if not codes:
            raise Problem(422, "not-serviceable", "No carrier serves this pickup",
                          f"pickup_address.postcode: no enabled carrier picks up at {body.pickup_address.postcode}",
                          [{"field": "pickup_address.postcode", "message": "not serviceable", "type": "lane"}])
        await self.store.insert(ret)
        ret = await self.book(ret, merchant, codes)
        if ret.shipment is None and all(a.outcome == "rejected" for a in ret.booking_attempts):
            await self.store.discard(ret)
            detail = "; ".join(f"{a.carrier}: {a.detail}" for a in ret.booking_attempts)
            raise Problem(422, "carrier-rejected", "The carrier refused the request", detail)
        if ret.shipment is None:
            await self.store.schedule_poll(ret.merchant_id, ret.id, self.store.clock.now().timestamp() + 60)
        return ret

    async def book(self, ret: Return, merchant: Merchant, codes: list[str]) -> Return:
        """Try each carrier in turn; the first that books wins."""
        request = self.pickup_request(ret, merchant)
        for code in codes:
            try:
                booking = await self.hub.call(code, "book_pickup", lambda c=code: self.hub.get(c).book_pickup(request))  # type: ignore[misc]
            except CarrierError as exc:
                ret = await self.record_attempt(ret, code, _outcome(exc), exc.detail)
                continue
            return await self.record_booking(ret, code, booking)
        return ret

    async def record_booking(self, ret: Return, code: str, booking: Booking) -> Return:
        now = self.store.clock.now()
        shipment = Shipment(carrier=code, awb=booking.awb, carrier_reference=booking.carrier_reference,
                            booked_at=now, label_fields=booking.label_fields)
        attempt = BookingAttempt(carrier=code, outcome="booked", at=now)
        self.metrics.bookings.labels(code, "booked").inc()
        ret = await self.store.update(ret.merchant_id, ret.id, lambda r: r.model_copy(
            update={"shipment": shipment, "booking_attempts": [*r.booking_attempts, attempt]}))
        await self.store.index_awb(ret)
        await self.store.schedule_poll(ret.merchant_id, ret.id, now.timestamp())
        return ret

    async def record_attempt(self, ret: Return, code: str, outcome: str, detail: str) -> Return:
        self.metrics.bookings.labels(code, outcome).inc()
        log.info("booking attempt failed", extra={"carrier": code, "return_id": ret.id, "outcome": outcome})
        attempt = BookingAttempt(carrier=code, outcome=outcome, detail=detail[:500], at=self.store.clock.now())
        return await self.store.update(ret.merchant_id, ret.id, lambda r: r.model_copy(
            update={"booking_attempts": [*r.booking_attempts, attempt]}))

    def pickup_request(self, ret: Return, merchant: Merchant) -> PickupRequest:
        body = ret.request
        return PickupRequest(reference=ret.id, pickup_address=body.pickup_address, pickup_contact=body.customer,
                             drop_address=ret.drop_address, drop_contact=ret.drop_contact, parcel=body.parcel,
                             items=tuple(body.items), reason=body.reason, pickup_date=body.pickup_date,
                             warehouse=merchant.warehouse)


def _outcome(exc: CarrierError) -> str:
    if isinstance(exc, NotServiceable):
        return "not_serviceable"
    if isinstance(exc, CarrierRejected):
        return "rejected"
    if isinstance(exc, CarrierUnavailable):
        return "unavailable"
    return "error"
