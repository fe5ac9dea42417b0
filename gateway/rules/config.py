"""The operator's allocation config: `config/allocation.yaml` and `config/rates.yaml`.

Both are validated with pydantic at start; a mistake stops the process with the file, the
line and the key (the same messages as `backhaul.yaml`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from carriers.errors import ConfigError
from gateway.rules.zones import ZONES
from gateway.settings import describe_errors, read_config_file

M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Weights(_Strict):
    """How much each criterion counts; normalised to sum to 1 when used."""

    cost: float = Field(default=0.4, ge=0)
    reliability: float = Field(default=0.4, ge=0)
    speed: float = Field(default=0.2, ge=0)

    @model_validator(mode="after")
    def _not_all_zero(self) -> Weights:
        if self.cost + self.reliability + self.speed <= 0:
            raise ValueError("at least one weight must be above 0")
        return self

    def normalised(self) -> tuple[float, float, float]:
        total = self.cost + self.reliability + self.speed
        return self.cost / total, self.reliability / total, self.speed / total


class Learning(_Strict):
    """The prior pickup outcomes are smoothed towards, and how fast old outcomes fade."""

    prior_success: float = Field(default=0.85, gt=0, lt=1)
    prior_strength: float = Field(default=20, gt=0)
    prior_turnaround_h: float = Field(default=36, gt=0)
    turnaround_strength: float = Field(default=5, gt=0)
    half_life_days: float = Field(default=30, gt=0)


class CarrierLimits(_Strict):
    """Limits of one carrier that its adapter's capabilities do not say."""

    max_weight_g: int | None = Field(default=None, gt=0)
    max_side_cm: float | None = Field(default=None, gt=0)
    daily_cap: int | None = Field(default=None, ge=0)


class AllocationConfig(_Strict):
    weights: Weights = Weights()
    learning: Learning = Learning()
    preference_bonus: float = Field(default=0.1, ge=0, le=1)
    carriers: dict[str, CarrierLimits] = Field(default_factory=dict)

    def limits(self, carrier: str) -> CarrierLimits:
        return self.carriers.get(carrier, CarrierLimits())


class ZoneRate(_Strict):
    first: float = Field(ge=0, description="price of the first slab")
    extra: float = Field(ge=0, description="price of each further slab")


class RateCard(_Strict):
    slab_g: int = Field(default=500, gt=0)
    zones: dict[str, ZoneRate]

    @model_validator(mode="after")
    def _known_zones(self) -> RateCard:
        unknown = sorted(set(self.zones) - set(ZONES))
        if unknown:
            raise ValueError(f"unknown zone(s) {unknown}; zones are {list(ZONES)}")
        return self

    def price(self, zone: str, weight_g: int) -> float | None:
        """The price of `weight_g` chargeable grams in `zone`, None when the card has no such zone."""
        rate = self.zones.get(zone)
        if rate is None:
            return None
        slabs = max(1, math.ceil(weight_g / self.slab_g))
        return rate.first + (slabs - 1) * rate.extra


class Rates(_Strict):
    currency: str = "INR"
    carriers: dict[str, RateCard] = Field(default_factory=dict)


def load_model(model: type[M], path: Path, *, missing_ok: bool = True, context: dict[str, Any] | None = None) -> M:
    """Raises: ConfigError naming the file, the line and the key of every problem."""
    if not path.exists():
        if missing_ok:
            return model()
        raise ConfigError(f"{path}: no such file")
    data: dict[str, Any] = read_config_file(path)
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, path)) from exc


def load_allocation(config_dir: Path) -> AllocationConfig:
    return load_model(AllocationConfig, config_dir / "allocation.yaml")


def load_rates(config_dir: Path) -> Rates:
    return load_model(Rates, config_dir / "rates.yaml")
