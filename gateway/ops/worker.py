"""The ops worker: remediation steps, stuck shipments, carrier alerts and alert delivery, per tick.

Each tick takes only what is due from sorted sets (remediation, stuck), so its cost follows
the work, never the number of shipments.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gateway.analytics.digest_schedule import DigestSender
from gateway.carrier_hub import CarrierHub
from gateway.metrics import Metrics
from gateway.ops.core import OpsCore
from gateway.ops.health import CallStats, call_stats
from gateway.ops.remediation import Remediator
from gateway.ops.sinks import SinkSender
from gateway.ops.stuck import last_scan_s
from gateway.portal.confirm import ConfirmationSender
from gateway.runtime import pause
from gateway.store.returns import ReturnStore, is_done

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpsWorkerDeps:
    core: OpsCore
    remediator: Remediator
    sender: SinkSender
    store: ReturnStore
    hub: CarrierHub
    metrics: Metrics
    tick_s: float
    # The merchants' daily digest emails (gateway/analytics/digest_schedule.py); None runs none.
    digests: DigestSender | None = None
    # The portal's return confirmations outbox (gateway/portal/confirm.py); None sends none.
    confirmations: ConfirmationSender | None = None


@dataclass
class CarrierWatch:
    """When the carrier alerts were last judged; the baseline only when no shared stats exist (histogram deltas)."""

    started_at: float = 0.0
    baseline: dict[str, CallStats] = field(default_factory=dict)


class OpsWorker:
    def __init__(self, deps: OpsWorkerDeps) -> None:
        self.deps = deps
        self._stopping = asyncio.Event()
        self._watch = CarrierWatch()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("ops round failed")
            await pause(self._stopping, self.deps.tick_s)

    def stop(self) -> None:
        self._stopping.set()

    async def run_once(self) -> None:
        """One round of everything that is due."""
        d = self.deps
        await d.remediator.run_due()
        await self.check_stuck()
        await d.core.raise_unmapped()
        await self.check_carriers()
        await d.sender.drain()
        for rule, count in (await d.core.alerts.open_counts()).items():
            d.metrics.alerts_open.labels(rule).set(count)
        await d.core.alerts.trim()
        if d.digests is not None:
            await d.digests.run_due()
        if d.confirmations is not None:
            await d.confirmations.drain()

    async def check_stuck(self) -> None:
        d, stuck = self.deps, self.deps.core.stuck
        now = d.core.clock.now().timestamp()
        for mid, rid in await stuck.due():
            ret = await d.store.get(mid, rid)
            if ret is None or is_done(ret) or ret.shipment is None:
                continue
            last = last_scan_s(ret)
            due = last + await stuck.sla_for(ret)
            if due > now:
                await d.store.redis.zadd(d.store.keys.stuck_due(), {f"{mid} {rid}": due})
                continue
            await stuck.flag(ret, last)
            hours = (now - last) / 3600
            since = datetime.fromtimestamp(last, UTC)
            what = (f"has been {ret.status.value} since {since:%Y-%m-%d %H:%M} UTC" if ret.state.last_event_at
                    else f"was booked {since:%Y-%m-%d %H:%M} UTC and has not been scanned since")
            await d.core.alerts.fire("stuck_shipment", ret.id, f"No scan for {hours:.0f} h: order {ret.order_id}",
                                     f"{ret.shipment.carrier} AWB {ret.shipment.awb} {what}",
                                     merchant_id=mid, return_id=rid, carrier=ret.shipment.carrier)
        flagged = await stuck.flagged()
        for carrier in d.hub.adapters:
            d.metrics.stuck.labels(carrier).set(0)
        # Every tick: the flagged returns in one round trip, not one read each.
        for ret in await d.store.get_many([(mid, rid) for mid, rid, _ in flagged]):
            if ret is not None and ret.shipment is not None:
                d.metrics.stuck.labels(ret.shipment.carrier).inc()

    async def check_carriers(self) -> None:
        """Each window: fire or resolve the error-rate and latency alerts per carrier."""
        d, watch = self.deps, self._watch
        if d.hub.guard is not None:
            await d.hub.guard.publish(list(d.hub.adapters))
        config = d.core.alerts_config
        now = d.core.clock.now().timestamp()
        window = config.rule("carrier_error_rate").window_s
        if watch.started_at and now - watch.started_at < window:
            return
        calls = d.core.health.calls
        if calls is not None:
            # The Redis-shared stats of the last window: every process judges the same figures.
            current = deltas = await calls.window(list(d.hub.adapters), window)
        else:
            current = call_stats(d.metrics)
            deltas = {c: stats.minus(watch.baseline.get(c, CallStats())) for c, stats in current.items()}
        for carrier, delta in deltas.items():
            await self._judge(carrier, delta)
        watch.started_at, watch.baseline = now, current

    async def _judge(self, carrier: str, delta: CallStats) -> None:
        alerts, config = self.deps.core.alerts, self.deps.core.alerts_config
        errors, latency = config.rule("carrier_error_rate"), config.rule("carrier_latency")
        if delta.calls >= errors.min_calls and delta.error_rate >= errors.threshold:
            await alerts.fire("carrier_error_rate", carrier, f"{carrier}: {delta.error_rate:.0%} of API calls fail",
                              f"{delta.errors:.0f} of {delta.calls:.0f} calls in the last window", carrier=carrier)
        elif delta.calls >= errors.min_calls:
            await alerts.resolve_key("carrier_error_rate", carrier)
        p95 = delta.quantile_s(0.95)
        if delta.calls >= latency.min_calls and p95 is not None and p95 >= latency.threshold:
            await alerts.fire("carrier_latency", carrier, f"{carrier}: API p95 latency {p95:g} s",
                              f"{delta.calls:.0f} calls in the last window", carrier=carrier)
        elif delta.calls >= latency.min_calls:
            await alerts.resolve_key("carrier_latency", carrier)
