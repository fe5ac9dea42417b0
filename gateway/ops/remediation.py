"""What happens after a failed pickup: the merchant's policy, run by the ops worker or by ops.

Per failure, `plan` picks the steps: another attempt on the next working day through the
carrier's reschedule API and a message to the customer, until the carrier has failed
`max_attempts` times; then cancel there and book the next carrier in the stored ranking, or
close the return as failed. Every step is recorded on the NPR case, with its outcome.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC

from carriers.clock import Clock
from carriers.errors import CarrierError
from gateway.booking import Booker
from gateway.carrier_hub import CarrierHub
from gateway.ingest import Ingestor
from gateway.metrics import Metrics
from gateway.models import Merchant, Return, Shipment
from gateway.ops.config import Policy, RemediationConfig
from gateway.ops.notify import Notifier, NotifyFailed
from gateway.ops.npr import CaseState, NprAction, NprCase, NprStore, Outcome
from gateway.ops.stuck import claim_due
from gateway.pages.estimates import working_days_after
from gateway.store.merchants import MerchantStore
from normalizers.taxonomy import Reason, Status, TrackingEvent

log = logging.getLogger(__name__)
OPS_ACTIONS = ("reattempt", "reallocate", "cancel", "contact")


class ActionRefused(Exception):
    """The step cannot be taken for this return now (no other carrier, nothing booked, ...)."""


def plan(case: NprCase, policy: Policy, ranking: list[str]) -> list[str]:
    """The automatic steps after the latest failed attempt."""
    if case.last.reason in policy.close_on:
        return ["close"]
    if case.attempts_here < policy.max_attempts:
        return [s for s, on in (("reattempt", policy.reattempt), ("contact", policy.contact_customer)) if on]
    others = [c for c in ranking if c not in case.carriers_tried]
    if policy.on_exhausted == "reallocate" and others and len(case.carriers_tried) < policy.max_carriers:
        return ["reallocate"]
    return ["close"]


def ops_event(ret: Return, raw_code: str, description: str, clock: Clock) -> TrackingEvent:
    """A cancellation Backhaul records itself (the carrier's own scan may follow)."""
    assert ret.shipment is not None
    at = clock.now().astimezone(UTC)
    fingerprint = hashlib.sha256(f"backhaul|{raw_code}|{ret.id}|{at.isoformat()}".encode()).hexdigest()[:20]
    return TrackingEvent(carrier=ret.shipment.carrier, awb=ret.shipment.awb, status=Status.CANCELLED,
                         reason=Reason.OTHER, description=description, raw_code=raw_code,
                         raw_description=description, occurred_at=at, fingerprint=fingerprint)


@dataclass(frozen=True)
class Remediator:
    merchants: MerchantStore
    hub: CarrierHub
    booker: Booker
    ingestor: Ingestor
    nprs: NprStore
    notifier: Notifier
    metrics: Metrics
    config: RemediationConfig

    @property
    def clock(self) -> Clock:
        return self.ingestor.clock

    async def run_due(self) -> int:
        store = self.ingestor.store
        taken = await claim_due(store.redis, store.keys.remediation_due(), self.clock.now().timestamp())
        for mid, rid in taken:
            try:
                await self.remediate(mid, rid)
            except Exception:
                log.exception("remediation failed", extra={"return_id": rid, "merchant_id": mid})
        return len(taken)

    async def remediate(self, mid: str, rid: str) -> None:
        """Run the policy's steps for the latest failure; steps already done for it are skipped."""
        ret, case = await self.ingestor.store.get(mid, rid), await self.nprs.get(mid, rid)
        merchant = await self.merchants.get(mid)
        if ret is None or case is None or merchant is None or case.state != "open" or ret.shipment is None:
            return
        if ret.status is not Status.PICKUP_FAILED or ret.request is None:
            return  # picked up or cancelled meanwhile; a tracking's pickup is not Backhaul's to remediate
        ranking = ret.allocation.order if ret.allocation else self.hub.order
        done = {a.action for a in case.actions if a.actor == "backhaul" and a.outcome == "ok" and a.at >= case.last.at}
        for step in plan(case, self.config.policy(mid), ranking):
            if step not in done:
                await self.act(step, ret, merchant, "backhaul")

    async def act(self, action: str, ret: Return, merchant: Merchant, actor: str) -> NprAction:
        """Take one step and record it on the case; failures are recorded, not raised."""
        steps: dict[str, Callable[[Return, Merchant, str], Awaitable[str]]] = {
            "reattempt": self._reattempt, "contact": self._contact, "reallocate": self._reallocate,
            "cancel": self._cancel, "close": self._close}
        outcome: Outcome = "ok"
        state: CaseState | None = None
        try:
            detail = await steps[action](ret, merchant, actor)
            state = "closed" if action in ("cancel", "close") else None
        except (CarrierError, NotifyFailed, ActionRefused) as exc:
            outcome, detail = "failed", str(getattr(exc, "detail", "") or exc)
        if detail.startswith("skipped:"):
            outcome, detail = "skipped", detail.removeprefix("skipped:").strip()
        self.metrics.remediations.labels(action, outcome).inc()
        record = NprAction(at=self.clock.now(), action=action, actor=actor, outcome=outcome, detail=detail[:500])
        await self.nprs.add_action(ret.merchant_id, ret.id, record, state)
        return record

    async def _reattempt(self, ret: Return, merchant: Merchant, actor: str) -> str:
        shipment = _shipment(ret)
        day = working_days_after(self.clock.now().date(), 1)[0]
        adapter = self.hub.get(shipment.carrier)
        await self.hub.call(shipment.carrier, "reschedule", lambda: adapter.reschedule(
            shipment.awb, day, carrier_reference=shipment.carrier_reference))
        return f"{shipment.carrier} asked to attempt again on {day.isoformat()}"

    async def _contact(self, ret: Return, merchant: Merchant, actor: str) -> str:
        sent = await self.notifier.notify(ret, merchant, "pickup_failed")
        return f"sent by {', '.join(sent)}" if sent else "skipped: no channel reaches the customer"

    async def _reallocate(self, ret: Return, merchant: Merchant, actor: str) -> str:
        shipment = _shipment(ret)
        if ret.request is None:
            raise ActionRefused("a tracking was booked elsewhere; Backhaul cannot book it again")
        case = await self.nprs.get(ret.merchant_id, ret.id)
        tried = {*(case.carriers_tried if case else []), shipment.carrier}
        ranking = ret.allocation.order if ret.allocation else self.hub.order
        if not [c for c in ranking if c not in tried]:
            raise ActionRefused("no other carrier in the ranking")
        adapter = self.hub.get(shipment.carrier)
        await self.hub.call(shipment.carrier, "cancel", lambda: adapter.cancel(shipment.awb,
                                                                              shipment.carrier_reference))
        booked = await self.booker.reallocate(ret, merchant, tried, actor)
        if booked.shipment is None:
            raise ActionRefused(f"cancelled at {shipment.carrier}; no other carrier booked it yet")
        new = booked.shipment
        await self.nprs.change(ret.merchant_id, ret.id, lambda c: c.model_copy(update={
            "carrier": new.carrier, "awb": new.awb, "carriers_tried": [*c.carriers_tried, new.carrier]})
            if c is not None else None)
        return f"cancelled {shipment.carrier} AWB {shipment.awb}; booked {new.carrier} AWB {new.awb}"

    async def _cancel(self, ret: Return, merchant: Merchant, actor: str) -> str:
        return await self._end(ret, "backhaul/ops_cancel", f"Cancelled by ops ({actor})")

    async def _close(self, ret: Return, merchant: Merchant, actor: str) -> str:
        why = self.config.policy(ret.merchant_id).close_reason
        return await self._end(ret, "backhaul/ops_closed_failed", f"Closed as failed: {why}")

    async def _end(self, ret: Return, raw_code: str, description: str) -> str:
        shipment = _shipment(ret)
        adapter = self.hub.get(shipment.carrier)
        await self.hub.call(shipment.carrier, "cancel", lambda: adapter.cancel(shipment.awb,
                                                                              shipment.carrier_reference))
        await self.ingestor.apply_own(ret, ops_event(ret, raw_code, description, self.clock))
        return description


def _shipment(ret: Return) -> Shipment:
    if ret.shipment is None:
        raise ActionRefused("the return has no booking")
    return ret.shipment
