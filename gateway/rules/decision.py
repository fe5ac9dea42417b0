"""What an allocation decided and why: stored with the return, served by the preview API.

Plain dataclasses, not frozen: a frozen dataclass sets each field through object.__setattr__,
which tripled the cost of a decision. Nothing mutates them after `rank` returns. Pydantic
validates and serializes them as fields of `Return`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(slots=True)
class Scored:
    """A ranked carrier with each criterion's score (0..1) and the figures behind them."""

    carrier: str
    score: float
    cost: float
    reliability: float
    speed: float
    preference: float
    price: float | None
    success_rate: float
    turnaround_h: float
    attempts: float
    serviceability: str  # "table", or "live" when the carrier must be asked at booking
    preferred_by: tuple[str, ...] = ()


@dataclass(slots=True)
class Excluded:
    carrier: str
    reason: str
    detail: str
    rule: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """Why the carriers are in this order; stored with the return and shown to ops."""

    ranked: tuple[Scored, ...]
    excluded: tuple[Excluded, ...]
    fired_rules: tuple[str, ...]
    weights: Mapping[str, float]
    zone: str
    area: str
    chargeable_weight_g: int
    forced: str | None = None

    @property
    def order(self) -> list[str]:
        return [s.carrier for s in self.ranked]
