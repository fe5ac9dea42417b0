"""The operator's ops config: `config/remediation.yaml` and `config/alerts.yaml`.

Both are validated at start; a mistake stops the process with the file, the line and the key.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.rules.config import load_model
from normalizers.taxonomy import Reason, Status

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Policy(_Strict):
    """What Backhaul does after a failed pickup, for one merchant (or everyone)."""

    max_attempts: int = Field(default=2, ge=1, le=10, description="failed attempts at one carrier before giving up")
    reattempt: bool = True
    contact_customer: bool = True
    on_exhausted: Literal["reallocate", "close"] = "reallocate"
    max_carriers: int = Field(default=2, ge=1, description="carriers tried before closing as failed")
    close_reason: str = Field(default="pickup failed repeatedly", max_length=200)
    # Reasons another attempt cannot fix: the case closes at once (e.g. the customer refused).
    close_on: frozenset[Reason] = frozenset({Reason.CUSTOMER_REFUSED})


class PickupWindow(_Strict):
    """When carriers may attempt a pickup, in the pickup's local time; outside it an NPR is suspicious."""

    start: time = time(8, 0)
    end: time = time(20, 0)


class RemediationConfig(_Strict):
    default: Policy = Policy()
    merchants: dict[str, Policy] = Field(default_factory=dict)
    pickup_window: PickupWindow = PickupWindow()

    def policy(self, merchant_id: str) -> Policy:
        return self.merchants.get(merchant_id, self.default)


class Rule(_Strict):
    """One alert rule; `threshold` means what its rule name says (docs/ops.md)."""

    enabled: bool = True
    severity: Severity = "warning"
    threshold: float = Field(default=0, ge=0)
    window_s: float = Field(default=300, gt=0)
    min_calls: int = Field(default=20, ge=1)


def _rules() -> dict[str, Rule]:
    return {
        "failed_pickup": Rule(severity="warning"),
        "repeated_failures": Rule(severity="critical", threshold=2),
        "stuck_shipment": Rule(severity="warning"),
        "carrier_error_rate": Rule(severity="critical", threshold=0.2),
        "carrier_latency": Rule(severity="warning", threshold=5.0),
        "circuit_open": Rule(severity="critical"),
        "unmapped_status": Rule(severity="warning"),
        "webhook_dead_letter": Rule(severity="warning"),
        "booking_exhausted": Rule(severity="critical"),
    }


RULE_NAMES = frozenset(_rules())


class Sink(_Strict):
    """Where alert notifications go: a Slack-compatible incoming webhook, email, or a generic webhook."""

    kind: Literal["slack", "email", "webhook"]
    url: str = ""
    to: list[str] = Field(default_factory=list)
    min_severity: Severity = "warning"
    notify_resolved: bool = True

    @model_validator(mode="after")
    def _has_target(self) -> Sink:
        if self.kind == "email" and not self.to:
            raise ValueError("an email sink needs `to`")
        if self.kind != "email" and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"a {self.kind} sink needs an http(s) `url`")
        return self


class Stuck(_Strict):
    """Hours without a new scan before a shipment in a status is stuck (SLA)."""

    # An explicit SLA per status wins; else the carrier's p95 in that status times `p95_margin`.
    sla_h: dict[Status, float] = Field(default_factory=dict)
    fallback_h: dict[Status, float] = Field(default_factory=lambda: {
        Status.CREATED: 24.0, Status.PICKUP_SCHEDULED: 48.0, Status.OUT_FOR_PICKUP: 12.0,
        Status.PICKUP_FAILED: 36.0, Status.PICKED_UP: 24.0, Status.IN_TRANSIT: 96.0, Status.OUT_FOR_DELIVERY: 24.0,
        Status.ON_HOLD: 48.0, Status.EXCEPTION: 24.0, Status.DELIVERY_FAILED: 48.0, Status.UNKNOWN: 48.0})
    default_h: float = Field(default=72, gt=0)
    # A drop-off return waits for the customer to take the parcel in; until its first scan
    # it is stuck only after this long (a week by default), not after the pickup SLA.
    drop_off_h: float = Field(default=168, gt=0)
    p95_margin: float = Field(default=1.5, ge=1)
    min_samples: int = Field(default=20, ge=1)
    samples_kept: int = Field(default=500, ge=10)


class AlertsConfig(_Strict):
    cooldown_s: float = Field(default=3600, ge=0, description="a resolved alert does not notify again sooner")
    alerts_kept: int = Field(default=10_000, ge=100)
    rules: dict[str, Rule] = Field(default_factory=_rules)
    sinks: list[Sink] = Field(default_factory=list)
    stuck: Stuck = Stuck()

    @model_validator(mode="after")
    def _known_rules(self) -> AlertsConfig:
        unknown = sorted(set(self.rules) - RULE_NAMES)
        if unknown:
            raise ValueError(f"unknown rule(s) {unknown}; rules are {sorted(RULE_NAMES)}")
        return self

    def rule(self, name: str) -> Rule:
        return self.rules.get(name) or _rules()[name]


def load_remediation(config_dir: Path) -> RemediationConfig:
    return load_model(RemediationConfig, config_dir / "remediation.yaml")


def load_alerts(config_dir: Path) -> AlertsConfig:
    return load_model(AlertsConfig, config_dir / "alerts.yaml")
