"""Return policy: table tests of each rule, tier extensions, QC and review."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from carriers.errors import ConfigError
from gateway.models import ReturnCreate
from gateway.rules.policy import Policy, evaluate, load_policies

NOW = datetime(2026, 11, 2, 6, 30, tzinfo=UTC)
POLICY = Policy(window_days=30, tier_extension_days={"gold": 15}, non_returnable_categories=["innerwear"],
                non_returnable_skus=["GIFT-500"], max_returns_per_order=2, qc_required_categories=["mobiles"],
                review_categories=["jewellery"], review_above_value=50000)


def body(**overrides: Any) -> ReturnCreate:
    doc: dict[str, Any] = {
        "order_id": "ORD-1", "customer": {"name": "A", "phone": "9800000000"},
        "pickup_address": {"line1": "1", "city": "Bengaluru", "postcode": "560001"},
        "items": [{"sku": "SH-42", "name": "Shoes", "price": "2499.00", "category": "footwear"}],
        "parcel": {"weight_g": 800},
    }
    doc.update(overrides)
    return ReturnCreate.model_validate(doc)


def item(**kw: Any) -> dict[str, Any]:
    return {"sku": "X", "name": "x", "price": "100", "category": "general", **kw}


CASES: list[tuple[str, dict[str, Any], int, list[str]]] = [
    ("inside the window", {"delivered_at": (NOW - timedelta(days=29)).isoformat()}, 0, []),
    ("outside the window", {"delivered_at": (NOW - timedelta(days=31)).isoformat()}, 0, ["return_window"]),
    ("gold tier gets 15 more days", {"delivered_at": (NOW - timedelta(days=40)).isoformat(), "customer_tier": "gold"},
     0, []),
    ("gold tier has a limit too", {"delivered_at": (NOW - timedelta(days=46)).isoformat(), "customer_tier": "gold"},
     0, ["return_window"]),
    ("order date when no delivery date", {"order_date": (NOW - timedelta(days=45)).date().isoformat()}, 0,
     ["return_window"]),
    ("no dates: window not checked", {}, 0, []),
    ("non-returnable category", {"items": [item(category="innerwear")]}, 0, ["non_returnable_category"]),
    ("non-returnable SKU", {"items": [item(), item(sku="GIFT-500")]}, 0, ["non_returnable_sku"]),
    ("max returns per order", {}, 2, ["max_returns_per_order"]),
    ("everything at once", {"delivered_at": (NOW - timedelta(days=90)).isoformat(),
                            "items": [item(category="innerwear")]}, 5,
     ["return_window", "non_returnable_category", "max_returns_per_order"]),
]


@pytest.mark.parametrize(("name", "overrides", "earlier", "rules"), CASES, ids=[c[0] for c in CASES])
def test_policy_rules(name: str, overrides: dict[str, Any], earlier: int, rules: list[str]) -> None:
    verdict = evaluate(POLICY, body(**overrides), NOW, earlier)
    assert [v.rule for v in verdict.violations] == rules
    assert verdict.is_allowed is (not rules)


def test_qc_and_review() -> None:
    plain = evaluate(POLICY, body(), NOW)
    assert not plain.needs_qc and plain.review_reasons == ()
    phone = evaluate(POLICY, body(items=[item(category="mobiles")]), NOW)
    assert phone.needs_qc
    ring = evaluate(POLICY, body(items=[item(category="jewellery", price="60000")]), NOW)
    assert ring.review_reasons == ("category 'jewellery' is reviewed", "order value 60000 is above 50000")
    everything = evaluate(POLICY.model_copy(update={"approval": "review"}), body(), NOW)
    assert everything.review_reasons == ("the policy reviews every return",)


def test_violation_names_the_field() -> None:
    verdict = evaluate(POLICY, body(items=[item(), item(sku="GIFT-500")]), NOW)
    assert verdict.violations[0].field == "items[1].sku"


def test_delivered_at_must_carry_an_offset() -> None:
    with pytest.raises(ValueError, match="timezone"):
        body(delivered_at="2026-10-01T10:00:00")
    assert body(order_date=date(2026, 10, 1)).order_date == date(2026, 10, 1)


def test_shipped_policy_loads_with_merchant_overrides(tmp_path: Path) -> None:
    policies = load_policies(Path(__file__).parents[2] / "config" / "policy.yaml")
    demo = policies.for_merchant("mer_x", "Demo Store")
    assert demo.window_days == 15 and demo.non_returnable_categories == policies.default.non_returnable_categories
    bad = tmp_path / "policy.yaml"
    bad.write_text("default:\n  window_days: -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"policy.yaml:2: default.window_days"):
        load_policies(bad)
