"""Prometheus metrics, registered in a registry per app so two apps in one process never clash."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# The carrier call histogram's bounds, also used by the Redis-shared call stats (gateway/carrier_guard.py).
LATENCY_BUCKETS_S = _LATENCY_BUCKETS_S


@dataclass
class Metrics:
    """Every metric Backhaul exports; names follow backhaul_<area>_<thing>_<unit>."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.bookings = Counter("backhaul_bookings_total", "Pickup bookings by carrier and outcome",
                                ["carrier", "outcome"], registry=r)
        self.carrier_call_seconds = Histogram(
            "backhaul_carrier_call_duration_seconds", "Latency of calls to carrier APIs",
            ["carrier", "operation", "outcome"], buckets=_LATENCY_BUCKETS_S, registry=r)
        self.polls = Counter("backhaul_polls_total", "Tracking polls by carrier and outcome",
                             ["carrier", "outcome"], registry=r)
        self.events = Counter("backhaul_events_total", "Tracking events applied, by source and status",
                              ["carrier", "source", "status"], registry=r)
        self.unmapped = Counter("backhaul_unmapped_status_total", "Carrier codes no status map knows",
                                ["carrier", "code"], registry=r)
        self.ingest_lag_seconds = Histogram(
            "backhaul_ingest_lag_seconds", "From a carrier webhook accepted to its events applied and fed",
            ["carrier"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120), registry=r)
        self.webhooks_in = Counter("backhaul_carrier_webhooks_total", "Inbound carrier webhooks by outcome",
                                   ["carrier", "outcome"], registry=r)
        self.webhook_deliveries = Counter("backhaul_webhook_deliveries_total",
                                          "Outbound webhook attempts by outcome (delivered, failed, dead)",
                                          ["outcome"], registry=r)
        self.webhook_dead_letters = Counter("backhaul_webhook_dead_letters_total",
                                            "Outbound webhooks given up after the retry window", registry=r)
        self.webhook_seconds = Histogram("backhaul_webhook_delivery_duration_seconds",
                                         "Latency of outbound webhook attempts", ["outcome"],
                                         buckets=_LATENCY_BUCKETS_S, registry=r)
        self.booking_exhausted = Counter("backhaul_booking_exhausted_total",
                                         "Returns every ranked carrier failed to book (ops alert)", ["reason"],
                                         registry=r)
        self.booking_orphans = Counter("backhaul_booking_orphans_total",
                                       "Bookings a timed-out carrier may hold after failover, by what was done",
                                       ["carrier", "outcome"], registry=r)
        self.poll_backlog = Gauge("backhaul_poll_due_shipments", "Shipments whose poll is due now",
                                  registry=r)
        self._ops(r)
        self._order_lookup(r)
        self._guard(r)
        self._portal_messages(r)

    def _portal_messages(self, r: CollectorRegistry) -> None:
        """The portal's one-time codes and return confirmations (docs/portal.md)."""
        self.portal_codes = Counter(
            "backhaul_portal_codes_total", "Portal one-time codes: sent, resent, and guesses by outcome "
            "(ok, wrong, burnt, expired, unknown)", ["outcome"], registry=r)
        self.portal_confirmations = Counter(
            "backhaul_portal_confirmations_total", "Return confirmations from the portal's outbox by outcome "
            "(sent, retry, given_up, unreachable)", ["outcome"], registry=r)

    def _guard(self, r: CollectorRegistry) -> None:
        """The carrier circuit breaker and rate limit (gateway/carrier_guard.py); state as this process last saw it."""
        self.circuit_state = Gauge("backhaul_carrier_circuit_state",
                                   "Carrier circuit breaker: 0 closed, 1 half-open, 2 open", ["carrier"], registry=r)
        self.short_circuited = Counter("backhaul_carrier_short_circuited_total",
                                       "Carrier calls refused at once because the circuit is open", ["carrier"],
                                       registry=r)
        self.rate_limited = Counter("backhaul_carrier_rate_limited_total",
                                    "Carrier calls held by the shared rate limit (waited) or refused",
                                    ["carrier", "outcome"], registry=r)

    def _order_lookup(self, r: CollectorRegistry) -> None:
        """The portal asking merchants' order-lookup webhooks (docs/portal.md)."""
        self.order_lookups = Counter(
            "backhaul_order_lookup_total", "Portal order lookups by outcome (found, not_found, cached, "
            "cached_not_found, stale, timeout, error, invalid)", ["outcome"], registry=r)
        self.order_lookup_seconds = Histogram(
            "backhaul_order_lookup_duration_seconds", "Latency of calls to merchants' order-lookup webhooks",
            ["outcome"], buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10), registry=r)

    def _ops(self, r: CollectorRegistry) -> None:
        """Failed pickups, remediation, customer notifications, stuck shipments and alerts (docs/ops.md)."""
        self.npr = Counter("backhaul_ops_npr_total", "Non-pickup reports by carrier and unified reason",
                           ["carrier", "reason"], registry=r)
        self.npr_suspicious = Counter("backhaul_ops_npr_suspicious_total", "NPRs flagged as suspicious, by flag",
                                      ["carrier", "flag"], registry=r)
        self.remediations = Counter("backhaul_ops_remediations_total", "Remediation steps by action and outcome",
                                    ["action", "outcome"], registry=r)
        self.notifications = Counter("backhaul_ops_notifications_total", "Customer notifications by channel",
                                     ["channel", "outcome"], registry=r)
        self.stuck = Gauge("backhaul_ops_stuck_shipments", "Shipments with no scan within their SLA",
                           ["carrier"], registry=r)
        self.alerts_fired = Counter("backhaul_ops_alerts_fired_total", "Alerts opened, by rule and severity",
                                    ["rule", "severity"], registry=r)
        self.alerts_open = Gauge("backhaul_ops_alerts_open", "Alerts firing or acknowledged, by rule", ["rule"],
                                 registry=r)
        self.alert_deliveries = Counter("backhaul_ops_alert_deliveries_total", "Alert notifications sent to sinks",
                                        ["sink", "outcome"], registry=r)
        self.ops_logins = Counter("backhaul_ops_logins_total", "Ops console logins by outcome", ["outcome"],
                                  registry=r)
        self.digests = Counter("backhaul_digest_sent_total",
                               "Merchant daily digests by outcome (sent, failed, duplicate)", ["outcome"],
                               registry=r)
