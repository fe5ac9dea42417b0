"""The one way tracking events enter: parse results in, normalized and applied per shipment.

Polling and (later) carrier webhooks both end here, so a code means the same thing
whichever way it arrived.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from carriers.base import CarrierEvent
from carriers.clock import Clock
from gateway.analytics.counters import Counters
from gateway.metrics import Metrics
from gateway.models import Return
from gateway.ops.core import OpsCore
from gateway.rules.learning import OutcomeLog
from gateway.store.returns import ApplyRequest, ApplyResult, ReturnStore, is_done
from normalizers.engine import normalize
from normalizers.maps import StatusMap
from normalizers.taxonomy import Reason, Status, TrackingEvent

log = logging.getLogger(__name__)
# Returns observed side by side: enough to overlap round trips, few enough that the Redis
# pool does not grow a connection per return (each new connection costs a handshake).
_OBSERVE_CONCURRENCY = 16


def merchant_cancel_event(carrier: str, awb: str, at: datetime) -> TrackingEvent:
    """The event Backhaul records when a merchant cancels; the carrier's own scan follows."""
    fingerprint = hashlib.sha256(f"backhaul|cancel|{carrier}|{awb}".encode()).hexdigest()[:20]
    return TrackingEvent(carrier=carrier, awb=awb, status=Status.CANCELLED, reason=Reason.CANCELLED_BY_MERCHANT,
                         description="The return was cancelled", raw_code="backhaul/cancel_requested",
                         raw_description="Cancelled by the merchant through Backhaul",
                         occurred_at=at.astimezone(UTC), fingerprint=fingerprint)


@dataclass(frozen=True)
class Ingestor:
    """Everything `ingest` needs; built once per process."""

    store: ReturnStore
    maps: dict[str, StatusMap]
    metrics: Metrics
    clock: Clock
    poll_interval_s: float
    # Pickup outcomes feed the allocation's learned success rates (gateway/rules/learning.py).
    outcomes: OutcomeLog | None = None
    # Returns analytics counters (gateway/analytics/counters.py), bumped from the new events.
    analytics: Counters | None = None
    # Failed pickups, stuck shipments and alerts (gateway/ops/core.py).
    ops: OpsCore | None = None

    def to_tracking(self, carrier: str, events: Sequence[CarrierEvent]) -> list[TrackingEvent]:
        status_map = self.maps[carrier]
        out = []
        for ev in events:
            te = normalize(ev, status_map)
            if te.status is Status.UNKNOWN:
                self.metrics.unmapped.labels(carrier, te.raw_code[:64]).inc()
                log.warning("unmapped status code", extra={"carrier": carrier, "code": te.raw_code})
                if self.ops is not None:
                    self.ops.note_unmapped(carrier, te.raw_code)
            out.append(te)
        return out

    async def ingest(self, carrier: str, events: Sequence[CarrierEvent], raw: str | None,
                     source: str) -> list[Return]:
        """Apply a carrier's events to the returns they belong to, then let the observers see them."""
        applied = await self.apply_events(carrier, events, raw, source)
        await self.observe(applied, source)
        return [result.ret for result in applied]

    async def apply_events(self, carrier: str, events: Sequence[CarrierEvent], raw: str | None,
                           source: str) -> list[ApplyResult]:
        """Normalize and apply one carrier response or webhook; only what changed comes back.

        Once this returns, the events are in the returns' timelines and in the merchants' feeds.
        """
        return await self.apply_payloads([(carrier, events, raw)], source)

    async def apply_payloads(self, payloads: Sequence[tuple[str, Sequence[CarrierEvent], str | None]],
                             source: str) -> list[ApplyResult]:
        """`apply_events()` for many payloads (carrier, events, raw body) in a few round trips in all."""
        grouped: list[tuple[str, str, list[CarrierEvent], str | None]] = []
        for carrier, events, raw in payloads:
            by_awb: dict[str, list[CarrierEvent]] = defaultdict(list)
            for ev in events:
                by_awb[ev.awb].append(ev)
            grouped += [(carrier, awb, group, raw) for awb, group in by_awb.items()]
        refs = await self.store.by_awbs([(carrier, awb) for carrier, awb, _, _ in grouped])
        requests = []
        for (carrier, awb, group, raw), ref in zip(grouped, refs, strict=True):
            if ref is None:
                log.warning("events for an AWB Backhaul does not know", extra={"carrier": carrier, "awb": awb})
                continue
            requests.append(ApplyRequest(*ref, self.to_tracking(carrier, group), raw, awb))
        applied = [result for result in await self.store.apply_many(requests) if result.changed]
        for result in applied:
            for te in result.new_events:
                self.metrics.events.labels(te.carrier, source, te.status.value).inc()
        return applied

    async def observe(self, applied: Sequence[ApplyResult], source: str) -> None:
        """What follows an apply: learned pickup rates, analytics, ops (NPRs, stuck, alerts), polls.

        Off the feed's critical path: the inbound worker hands it to the observers' stream.
        Different returns are observed side by side; one return's results in their order.
        """
        by_return: dict[str, list[ApplyResult]] = defaultdict(list)
        for result in applied:
            by_return[result.ret.id].append(result)
        limit = asyncio.Semaphore(_OBSERVE_CONCURRENCY)

        async def bounded(results: list[ApplyResult]) -> None:
            async with limit:
                await self._observe_return(results)

        await asyncio.gather(*(bounded(results) for results in by_return.values()))
        latest = [results[-1].ret for results in by_return.values()]
        if self.ops is not None:
            await self.ops.watch(latest)
        # A pushed event leaves the poll schedule as it is, unless the return is finished.
        await self.store.set_poll_schedule([self._poll_due(ret) for ret in latest
                                            if source == "poll" or is_done(ret)])

    async def _observe_return(self, results: list[ApplyResult]) -> None:
        # One after the other: for most events each observer has nothing to write, and a task
        # per observer would cost more than the work (returns are still observed side by side).
        observers = [o for o in (self.outcomes, self.analytics, self.ops) if o is not None]
        for result in results:
            for observer in observers:
                await observer.observe(result.ret, result.new_events)

    def _poll_due(self, ret: Return) -> tuple[str, str, float | None]:
        due = None if is_done(ret) else self.clock.now().timestamp() + self.poll_interval_s
        return ret.merchant_id, ret.id, due

    async def after_apply(self, ret: Return) -> None:
        await self.store.set_poll_schedule([self._poll_due(ret)])

    async def apply_own(self, ret: Return, event: TrackingEvent) -> Return:
        """Apply an event Backhaul itself originates (a merchant's cancel)."""
        result = await self.store.apply(ret.merchant_id, ret.id, [event])
        self.metrics.events.labels(event.carrier, "gateway", event.status.value).inc()
        await self.observe([result], "gateway")
        await self.after_apply(result.ret)
        return result.ret
