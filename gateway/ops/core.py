"""The ops layer's hooks into the event path: what every applied event, exhausted booking,
dead-lettered webhook and unmapped code tells ops.

`observe` runs after `apply()` for each return, and `watch` once for the returns observed
together (gateway/ingest.py). They only write to Redis: NPR cases, alerts, the stuck-shipment
due set, health counters and the remediation due set. Carrier calls and notifications happen
in the ops worker, so ingest never waits on them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from carriers.clock import Clock
from gateway.metrics import Metrics
from gateway.models import Return
from gateway.ops.alerts import AlertCenter
from gateway.ops.config import AlertsConfig, RemediationConfig
from gateway.ops.health import HealthLog
from gateway.ops.npr import NprCase, NprStore, suspicious
from gateway.ops.stuck import StuckWatch
from gateway.store.returns import ReturnStore
from gateway.webhooks_out.delivery import Outcome
from gateway.webhooks_out.models import Endpoint, Message
from normalizers.taxonomy import Status, TrackingEvent

log = logging.getLogger(__name__)
_UNMAPPED_MAX = 1000


@dataclass
class OpsCore:
    store: ReturnStore
    nprs: NprStore
    alerts: AlertCenter
    stuck: StuckWatch
    health: HealthLog
    metrics: Metrics
    clock: Clock
    remediation: RemediationConfig
    alerts_config: AlertsConfig
    unmapped: set[tuple[str, str]] = field(default_factory=set)

    async def observe(self, ret: Return, new_events: list[TrackingEvent]) -> None:
        """After apply: never raises, so a fault here cannot hold up the event path."""
        try:
            await self._observe(ret, new_events)
        except Exception:
            log.exception("ops hook failed", extra={"return_id": ret.id})

    async def booked(self, ret: Return) -> None:
        """After a booking: the shipment is watched as stuck until its first scan. Never raises."""
        try:
            await self.stuck.observe(ret)
        except Exception:
            log.exception("ops booking hook failed", extra={"return_id": ret.id})

    async def watch(self, rets: Sequence[Return]) -> None:
        """After apply, for the returns just observed (each once): the stuck watch moves on,
        in two round trips for all of them. Never raises."""
        try:
            for ret, was_stuck in zip(rets, await self.stuck.observe_many(rets), strict=True):
                if was_stuck:
                    await self.alerts.resolve_key("stuck_shipment", ret.id)
        except Exception:
            log.exception("ops stuck watch failed", extra={"returns": len(rets)})

    async def _observe(self, ret: Return, new_events: list[TrackingEvent]) -> None:
        current = ret.shipment.awb if ret.shipment else None
        failures = [e for e in new_events if e.status is Status.PICKUP_FAILED and e.awb == current]
        if failures:
            await self._failed(ret, failures)
        if any(e.status is Status.PICKED_UP and e.awb == current for e in new_events):
            await self._picked_up(ret)
        if ret.status is Status.CANCELLED:
            await self.nprs.change(ret.merchant_id, ret.id, lambda c: c.model_copy(update={"state": "closed"})
                                   if c is not None and c.state == "open" else None)

    async def _failed(self, ret: Return, failures: list[TrackingEvent]) -> None:
        history = await self.store.events(ret.merchant_id, ret.id)
        window, case = self.remediation.pickup_window, None
        for event in failures:
            flags = suspicious(event, history, window)
            recorded = await self.nprs.record(ret, event, flags, self.clock.now())
            if recorded is None:
                continue
            case = recorded
            reason = event.reason.value if event.reason else "other"
            self.metrics.npr.labels(event.carrier, reason).inc()
            for flag in flags:
                self.metrics.npr_suspicious.labels(event.carrier, flag).inc()
            await self.health.failed(event.carrier, reason)
        if case is not None:
            await self._alert_failure(ret, case)
            await self.schedule_remediation(ret.merchant_id, ret.id)

    async def _alert_failure(self, ret: Return, case: NprCase) -> None:
        last = case.last
        detail = (f"{last.carrier} AWB {last.awb}, attempt {last.attempt}: {last.reason or 'other'} "
                  f"({last.raw_code} {last.raw_reason}){' ' + last.remarks if last.remarks else ''}")
        await self.alerts.fire("failed_pickup", ret.id, f"Pickup failed for order {ret.order_id}", detail,
                               merchant_id=ret.merchant_id, return_id=ret.id, carrier=last.carrier)
        threshold = self.alerts_config.rule("repeated_failures").threshold or 2
        if len(case.attempts) >= threshold:
            await self.alerts.fire("repeated_failures", ret.id,
                                   f"Pickup failed {len(case.attempts)} times for order {ret.order_id}", detail,
                                   merchant_id=ret.merchant_id, return_id=ret.id, carrier=last.carrier)

    async def _picked_up(self, ret: Return) -> None:
        assert ret.shipment is not None
        await self.health.picked_up(ret.shipment.carrier)
        if ret.state.picked_up_at is not None:
            await self.stuck.record_turnaround(ret.shipment.carrier, ret.shipment.booked_at, ret.state.picked_up_at)
        case = await self.nprs.change(ret.merchant_id, ret.id, lambda c: c.model_copy(update={"state": "resolved"})
                                      if c is not None and c.state == "open" else None)
        if case is not None:
            for rule in ("failed_pickup", "repeated_failures"):
                await self.alerts.resolve_key(rule, ret.id)

    async def schedule_remediation(self, mid: str, rid: str, delay_s: float = 0.0) -> None:
        due = self.clock.now().timestamp() + delay_s
        await self.store.redis.zadd(self.store.keys.remediation_due(), {f"{mid} {rid}": due})

    def note_unmapped(self, carrier: str, code: str) -> None:
        """Called from the (synchronous) normalize step; the ops worker raises the alerts."""
        if len(self.unmapped) < _UNMAPPED_MAX:
            self.unmapped.add((carrier, code[:64]))

    async def raise_unmapped(self) -> None:
        pending, self.unmapped = self.unmapped, set()
        for carrier, code in sorted(pending):
            await self.alerts.fire("unmapped_status", f"{carrier}:{code}", f"Unmapped {carrier} status code {code}",
                                   "No status map knows this code; events with it are kept as `unknown`.",
                                   carrier=carrier)

    async def booking_exhausted(self, ret: Return, reason: str) -> None:
        """Booker.alert: every ranked carrier failed to book this return."""
        await self.alerts.fire("booking_exhausted", ret.id, f"No carrier could book order {ret.order_id}",
                               "; ".join(f"{a.carrier}: {a.outcome} {a.detail}" for a in ret.booking_attempts[-5:])
                               or reason, merchant_id=ret.merchant_id, return_id=ret.id)

    async def dead_letter(self, endpoint: Endpoint, message: Message, outcome: Outcome) -> None:
        """DispatcherDeps.on_dead_letter: one alert per endpoint while it keeps failing."""
        await self.alerts.fire("webhook_dead_letter", endpoint.id, f"Webhooks to {endpoint.url} are dead-lettered",
                               f"last: {message.type} for {message.return_id}: {outcome.error or outcome.status_code}",
                               merchant_id=endpoint.merchant_id, return_id=message.return_id)

    async def circuit_changed(self, carrier: str, is_open: bool) -> None:
        """For the carrier circuit breaker: open raises the alert, closed resolves it."""
        if is_open:
            await self.alerts.fire("circuit_open", carrier, f"Circuit open for {carrier}",
                                   "Calls to the carrier are short-circuited.", carrier=carrier)
        else:
            await self.alerts.resolve_key("circuit_open", carrier)
