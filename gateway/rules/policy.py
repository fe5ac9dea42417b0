"""The return policy: may this return be made, does it need a quality check or a person to approve it.

`config/policy.yaml` holds a `default` policy and per-merchant overrides (by id or name), each
field of an override replacing the default's. `evaluate` is pure; the count of returns already
made for the order is taken from Redis by `OrderCounts` in the same step that admits the return.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from carriers.errors import ConfigError
from gateway.models import ReturnCreate
from gateway.settings import describe_errors, read_config_file
from gateway.store.keys import Keys


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    window_days: int = Field(default=30, ge=0)
    tier_extension_days: dict[str, int] = Field(default_factory=dict)
    non_returnable_categories: list[str] = Field(default_factory=list)
    non_returnable_skus: list[str] = Field(default_factory=list)
    max_returns_per_order: int | None = Field(default=None, ge=1)
    qc_required_categories: list[str] = Field(default_factory=list)
    approval: Literal["auto", "review"] = "auto"
    review_categories: list[str] = Field(default_factory=list)
    review_above_value: float | None = Field(default=None, ge=0)


class PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Policy = Policy()
    merchants: dict[str, dict[str, Any]] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    field: str
    detail: str


@dataclass(frozen=True, slots=True)
class Verdict:
    violations: tuple[Violation, ...]
    needs_qc: bool
    review_reasons: tuple[str, ...]

    @property
    def is_allowed(self) -> bool:
        return not self.violations


class Policies:
    """The default policy and each merchant's, merged at load."""

    def __init__(self, default: Policy, merchants: dict[str, Policy] | None = None) -> None:
        self.default = default
        self.merchants = merchants or {}

    def for_merchant(self, merchant_id: str, name: str = "") -> Policy:
        return self.merchants.get(merchant_id) or self.merchants.get(name) or self.default


def load_policies(path: Path) -> Policies:
    """Raises: ConfigError naming the file, the line and the key."""
    if not path.exists():
        return Policies(Policy())
    data = read_config_file(path)
    try:
        doc = PolicyFile.model_validate(data)
        merged = {}
        for key, override in doc.merchants.items():
            merged[key] = Policy.model_validate({**doc.default.model_dump(), **override})
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, path)) from exc
    return Policies(doc.default, merged)


def _window_violation(p: Policy, body: ReturnCreate, now: datetime) -> Violation | None:
    if body.delivered_at is not None:
        start, what = body.delivered_at, "delivery"
    elif body.order_date is not None:
        start, what = datetime.combine(body.order_date, time(0), UTC), "the order date (no delivery date given)"
    else:
        return None
    extra = p.tier_extension_days.get(body.customer_tier or "", 0)
    days = p.window_days + extra
    if now <= start + timedelta(days=days):
        return None
    tier = f" ({p.window_days} + {extra} for tier {body.customer_tier})" if extra else ""
    late = (now - start).days
    field = "delivered_at" if body.delivered_at is not None else "order_date"
    return Violation("return_window", field, f"{late} days since {what}; the window is {days} days{tier}")


def evaluate(p: Policy, body: ReturnCreate, now: datetime, earlier_returns: int = 0) -> Verdict:
    """Every policy rule the return breaks, whether it needs QC, and why it needs review."""
    out: list[Violation] = []
    window = _window_violation(p, body, now)
    if window is not None:
        out.append(window)
    for i, item in enumerate(body.items):
        if item.category in p.non_returnable_categories:
            out.append(Violation("non_returnable_category", f"items[{i}].category",
                                 f"{item.category!r} items cannot be returned"))
        if item.sku in p.non_returnable_skus:
            out.append(Violation("non_returnable_sku", f"items[{i}].sku", f"SKU {item.sku!r} cannot be returned"))
    if p.max_returns_per_order is not None and earlier_returns >= p.max_returns_per_order:
        out.append(Violation("max_returns_per_order", "order_id",
                             f"order {body.order_id} already has {earlier_returns} return(s); "
                             f"at most {p.max_returns_per_order}"))
    categories = {i.category for i in body.items}
    reasons = []
    if p.approval == "review":
        reasons.append("the policy reviews every return")
    reasons += [f"category {c!r} is reviewed" for c in sorted(categories & set(p.review_categories))]
    value = float(sum(i.price * i.quantity for i in body.items))
    if p.review_above_value is not None and value > p.review_above_value:
        reasons.append(f"order value {value:g} is above {p.review_above_value:g}")
    needs_qc = bool(categories & set(p.qc_required_categories))
    return Verdict(tuple(out), needs_qc, tuple(reasons))


def refusal_errors(violations: Sequence[Violation]) -> list[dict[str, str]]:
    return [{"field": v.field, "message": v.detail, "type": v.rule} for v in violations]


class OrderCounts:
    """Returns made per merchant order, so the policy can cap them."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def count(self, mid: str, order_id: str) -> int:
        return int(await self.redis.get(self.keys.order_returns(mid, order_id)) or 0)

    async def take(self, mid: str, order_id: str, limit: int | None) -> bool:
        """Count one more return for the order; False (and nothing counted) past `limit`."""
        used = int(await self.redis.incr(self.keys.order_returns(mid, order_id)))
        if limit is not None and used > limit:
            await self.redis.decr(self.keys.order_returns(mid, order_id))
            return False
        return True

    async def give_back(self, mid: str, order_id: str) -> None:
        await self.redis.decr(self.keys.order_returns(mid, order_id))
