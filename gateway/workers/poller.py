"""The poller: takes due shipments from a sorted set, tracks them in carrier-sized batches.

Shipments not yet booked (every carrier was down at create time) get their booking retried
here too, so a return is never left behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass

from carriers.errors import CarrierError
from gateway.booking import Booker
from gateway.carrier_hub import CarrierHub
from gateway.ingest import Ingestor
from gateway.metrics import Metrics
from gateway.models import Return
from gateway.runtime import pause
from gateway.store.merchants import MerchantStore
from gateway.store.returns import ReturnStore, is_done

log = logging.getLogger(__name__)
_CLAIM_LIMIT = 500
_RETRY_BOOKING_S = 300.0


@dataclass(frozen=True)
class PollerDeps:
    store: ReturnStore
    merchants: MerchantStore
    hub: CarrierHub
    ingestor: Ingestor
    booker: Booker
    metrics: Metrics
    lease_s: float
    tick_s: float


class Poller:
    def __init__(self, deps: PollerDeps) -> None:
        self.deps = deps
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Poll until `stop()`; one failing round is logged and the next one goes on."""
        while not self._stopping.is_set():
            try:
                await self.poll_once()
            except Exception:
                log.exception("poll round failed")
            await pause(self._stopping, self.deps.tick_s)

    def stop(self) -> None:
        self._stopping.set()

    async def poll_once(self) -> int:
        """One round: every due shipment is tracked once; returns how many were taken."""
        d = self.deps
        now = d.store.clock.now().timestamp()
        claimed = await d.store.claim_due(now, d.lease_s, _CLAIM_LIMIT)
        d.metrics.poll_backlog.set(len(claimed))
        by_carrier: dict[str, list[Return]] = defaultdict(list)
        for mid, rid in claimed:
            ret = await d.store.get(mid, rid)
            if ret is None or is_done(ret):
                await d.store.unschedule_poll(mid, rid)
            elif ret.shipment is None:
                await self.retry_booking(ret)
            else:
                by_carrier[ret.shipment.carrier].append(ret)
        await asyncio.gather(*(self.track(code, rets) for code, rets in by_carrier.items()))
        return len(claimed)

    async def track(self, code: str, rets: list[Return]) -> None:
        d = self.deps
        adapter = d.hub.get(code)
        size = max(1, adapter.capabilities.max_track_batch)
        for start in range(0, len(rets), size):
            batch = rets[start:start + size]
            awbs = [r.shipment.awb for r in batch if r.shipment]
            try:
                payloads = await d.hub.call(code, "track", lambda a=awbs: adapter.track(a))  # type: ignore[misc]
                for raw in payloads:
                    events = adapter.parse_tracking(raw)
                    await d.ingestor.ingest(code, events, raw.decode("utf-8", "replace"), "poll")
            except CarrierError as exc:
                # The lease already pushed these shipments' next poll out; they come back then.
                d.metrics.polls.labels(code, type(exc).__name__).inc()
                log.warning("tracking poll failed", extra={"carrier": code, "error": str(exc)})
                continue
            d.metrics.polls.labels(code, "ok").inc()
            for ret in batch:
                fresh = await d.store.get(ret.merchant_id, ret.id)
                if fresh is not None:
                    await d.ingestor.after_apply(fresh)

    async def retry_booking(self, ret: Return) -> None:
        d = self.deps
        merchant = await d.merchants.get(ret.merchant_id)
        if merchant is None:
            await d.store.unschedule_poll(ret.merchant_id, ret.id)
            return
        booked = await d.booker.retry(ret, merchant)
        if booked.shipment is None:
            await d.store.schedule_poll(ret.merchant_id, ret.id, d.store.clock.now().timestamp() + _RETRY_BOOKING_S)
