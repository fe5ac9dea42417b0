"""Allocation: table tests of filters and rules, and properties that must hold for any input."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carriers.base import Address, Item, Parcel, QcAttributes
from gateway.rules.allocation import Allocator, CarrierProfile
from gateway.rules.config import AllocationConfig, RateCard, ZoneRate
from gateway.rules.facts import Facts, facts_of
from gateway.rules.learning import OutcomeSnapshot
from gateway.rules.merchant_rules import EMPTY, RuleSet, RulesFile, compile_rules
from gateway.rules.serviceability import DELIVERY, PICKUP, TABLE_BYTES, CarrierTable, ServiceabilitySnapshot, set_flags

MONDAY_NOON_IST = datetime(2026, 11, 2, 6, 30, tzinfo=UTC)
BENGALURU, BHIWANDI, ITANAGAR = "560001", "421302", "791111"
CARRIERS = ("alpha", "bravo", "charlie", "delta")


def card(first: float) -> RateCard:
    return RateCard(zones={z: ZoneRate(first=first, extra=first / 2) for z in ("local", "regional", "metro",
                                                                                  "national", "special")})


PROFILES = {
    "alpha": CarrierProfile("alpha", doorstep_qc=True, max_weight_g=20_000, rate_card=card(60)),
    "bravo": CarrierProfile("bravo", max_weight_g=5_000, max_side_cm=60, rate_card=card(40)),
    "charlie": CarrierProfile("charlie", rate_card=card(50)),
    "delta": CarrierProfile("delta", reverse_pickup=False, rate_card=card(10)),
}
ALLOCATOR = Allocator(PROFILES, AllocationConfig())


def table(pins: dict[str, int]) -> CarrierTable:
    bits = bytearray(TABLE_BYTES)
    for pin, flags in pins.items():
        set_flags(bits, pin, flags)
    return CarrierTable(bytes(bits))


BOTH = PICKUP | DELIVERY
TABLES = ServiceabilitySnapshot({code: table({BENGALURU: BOTH, BHIWANDI: BOTH, ITANAGAR: BOTH})
                                 for code in CARRIERS})


def facts(pickup: str = BENGALURU, weight_g: int = 800, price: str = "2499", category: str = "footwear",
          sku: str = "SH-42", tier: str | None = None, now: datetime = MONDAY_NOON_IST, qc: bool = False,
          side_cm: float = 20) -> Facts:
    items = [Item(sku=sku, name="x", price=Decimal(price), category=category,
                  qc=QcAttributes(brand="b") if qc else None)]
    parcel = Parcel(weight_g=weight_g, length_cm=side_cm, width_cm=10, height_cm=10)
    return facts_of(Address(line1="1", city="c", postcode=pickup), Address(line1="1", city="c", postcode=BHIWANDI),
                    parcel, items, tier, now, EMPTY.timezone)


def rules(*rules: dict[str, Any], **top: Any) -> RuleSet:
    return compile_rules(RulesFile.model_validate({"merchant": "m", "rules": list(rules), **top}))


def rank(f: Facts, rs: RuleSet = EMPTY, tables: ServiceabilitySnapshot = TABLES, **kw: Any) -> Any:
    return ALLOCATOR.rank(f, rs, tables, OutcomeSnapshot(), **kw)


CASES: list[tuple[str, Facts, RuleSet, dict[str, Any], list[str], dict[str, str]]] = [
    ("cheapest first when nothing is learned", facts(), EMPTY, {}, ["bravo", "charlie", "alpha"],
     {"delta": "no_reverse_pickup"}),
    ("too heavy for bravo", facts(weight_g=6_000), EMPTY, {}, ["charlie", "alpha"], {"bravo": "too_heavy"}),
    ("volumetric weight counts", facts(weight_g=500, side_cm=300), EMPTY, {}, ["charlie", "alpha"],
     {"bravo": "too_heavy"}),
    ("QC needs doorstep QC", facts(qc=True), EMPTY, {}, ["alpha"], {"bravo": "no_doorstep_qc"}),
    ("at capacity", facts(), EMPTY, {"full": frozenset({"bravo"})}, ["charlie", "alpha"], {"bravo": "at_capacity"}),
    ("merchant asks for one carrier", facts(), EMPTY, {"requested": "alpha"}, ["alpha"],
     {"bravo": "not_requested"}),
    ("merchant enables two carriers", facts(), rules(carriers=["alpha", "charlie"]), {}, ["charlie", "alpha"],
     {"bravo": "not_enabled"}),
    ("exclude by category", facts(category="electronics"),
     rules({"name": "fragile", "when": {"category": ["electronics"]}, "then": {"exclude": ["bravo"]}}), {},
     ["charlie", "alpha"], {"bravo": "rule_exclude"}),
    ("prefer lifts a dearer carrier", facts(),
     rules({"name": "p", "then": {"prefer": ["alpha"]}}, {"name": "q", "then": {"prefer": ["alpha"]}}), {},
     ["alpha", "bravo", "charlie"], {}),
    ("force by PIN prefix", facts(), rules({"name": "blr", "when": {"pickup_pin": ["56"]},
                                            "then": {"force": "charlie"}}), {}, ["charlie"], {"bravo": "rule_force"}),
    ("rule for another PIN does not fire", facts(), rules({"name": "del", "when": {"pickup_pin": ["11"]},
                                                           "then": {"force": "charlie"}}), {},
     ["bravo", "charlie", "alpha"], {}),
    ("zone special", facts(pickup=ITANAGAR), rules({"name": "ne", "when": {"zone": ["special"]},
                                                    "then": {"exclude": ["bravo"]}}), {}, ["charlie", "alpha"], {}),
    ("order value and tier", facts(price="30000", tier="gold"),
     rules({"name": "vip", "when": {"order_value": {"min": 25000}, "customer_tier": ["gold"]},
            "then": {"force": "alpha"}}), {}, ["alpha"], {}),
    ("weekday and hour (Monday 12:00 IST)", facts(),
     rules({"name": "mon-noon", "when": {"day_of_week": ["mon"], "time_of_day": {"from": "11:00", "to": "13:00"}},
            "then": {"exclude": ["bravo"]}},
           {"name": "night", "when": {"time_of_day": {"from": "22:00", "to": "06:00"}},
            "then": {"exclude": ["charlie"]}}), {}, ["charlie", "alpha"], {"bravo": "rule_exclude"}),
    ("sku rule", facts(sku="GIFT-1"), rules({"name": "gift", "when": {"sku": ["GIFT-1"]},
                                             "then": {"exclude": ["bravo", "charlie"]}}), {}, ["alpha"], {}),
    ("weights: reliability only ties on the prior, code breaks the tie", facts(),
     rules({"name": "w", "then": {"weights": {"cost": 0, "reliability": 1, "speed": 0}}}), {},
     ["alpha", "bravo", "charlie"], {}),
]


@pytest.mark.parametrize(("name", "f", "rs", "kw", "order", "excluded"), CASES, ids=[c[0] for c in CASES])
def test_rules_table(name: str, f: Facts, rs: RuleSet, kw: dict[str, Any], order: list[str],
                     excluded: dict[str, str]) -> None:
    decision = rank(f, rs, **kw)
    assert decision.order == order
    reasons = {e.carrier: e.reason for e in decision.excluded}
    for code, reason in excluded.items():
        assert reasons[code] == reason


def test_not_serviceable_in_the_table_is_excluded_and_a_missing_table_means_live() -> None:
    tables = ServiceabilitySnapshot({"alpha": table({BHIWANDI: BOTH}), "bravo": table({BENGALURU: PICKUP})})
    decision = rank(facts(), tables=tables)
    reasons = {e.carrier: e.reason for e in decision.excluded}
    assert reasons["alpha"] == reasons["bravo"] == "not_serviceable"  # no pickup / no delivery
    assert [(s.carrier, s.serviceability) for s in decision.ranked] == [("charlie", "live")]


def test_fired_rules_and_scores_are_explained() -> None:
    rs = rules({"name": "cheap", "then": {"prefer": ["charlie"]}}, {"name": "never", "when": {"sku": ["NO"]},
                                                                    "then": {"exclude": ["alpha"]}})
    decision = rank(facts(), rs)
    assert decision.fired_rules == ("cheap",)
    top = decision.ranked[0]
    assert top.carrier == "charlie" and top.preferred_by == ("cheap",)
    bravo = next(s for s in decision.ranked if s.carrier == "bravo")
    assert bravo.cost == 1.0 and bravo.price == 60  # 800 g is two 500 g slabs: 40 + 20
    assert decision.zone == "metro" and decision.area == "560"  # Bengaluru to Bhiwandi (Thane, MMR)


def test_learned_outcomes_move_the_ranking_but_three_attempts_do_not() -> None:
    now = MONDAY_NOON_IST.timestamp()
    rs = rules({"name": "w", "then": {"weights": {"cost": 0, "reliability": 1, "speed": 0}}})
    few = OutcomeSnapshot({"bravo": {"560": (0, 3, 0, 0, now), "*": (0, 3, 0, 0, now)}})
    many = OutcomeSnapshot({"bravo": {"560": (0, 300, 0, 0, now), "*": (0, 300, 0, 0, now)}})
    est_few = few.estimate("bravo", "560", now, AllocationConfig().learning)
    assert est_few.success_rate > 0.6  # three failures barely move a 0.85 prior
    ranked_many = ALLOCATOR.rank(facts(), rs, TABLES, many).order
    assert ranked_many[-1] == "bravo"


def test_old_outcomes_decay() -> None:
    cfg = AllocationConfig().learning
    now = MONDAY_NOON_IST.timestamp()
    fresh = OutcomeSnapshot({"x": {"*": (0, 100, 0, 0, now)}}).estimate("x", "560", now, cfg)
    old = OutcomeSnapshot({"x": {"*": (0, 100, 0, 0, now - 365 * 86400)}}).estimate("x", "560", now, cfg)
    assert fresh.success_rate < 0.2 < 0.8 < old.success_rate


pins = st.sampled_from([BENGALURU, BHIWANDI, ITANAGAR, "110001", "400050", "600086"])


@settings(max_examples=200, deadline=None)
@given(coverage=st.dictionaries(st.sampled_from(CARRIERS), st.dictionaries(pins, st.sampled_from([0, 1, 2, 3]))),
       excluded=st.sets(st.sampled_from(CARRIERS)), preferred=st.sets(st.sampled_from(CARRIERS)),
       pickup=pins, weight=st.integers(100, 30_000), full=st.frozensets(st.sampled_from(CARRIERS)),
       seed=st.integers(0, 1000))
def test_excluded_or_unserviceable_carriers_are_never_ranked_and_ranking_is_deterministic(
        coverage: dict[str, dict[str, int]], excluded: set[str], preferred: set[str], pickup: str, weight: int,
        full: frozenset[str], seed: int) -> None:
    tables = ServiceabilitySnapshot({c: table(p) for c, p in coverage.items()})
    actions: list[dict[str, Any]] = [{"name": "pref", "then": {"prefer": sorted(preferred)}}] if preferred else []
    if excluded:
        actions.append({"name": "excl", "then": {"exclude": sorted(excluded)}})
    rs = rules(*actions)
    f = facts(pickup=pickup, weight_g=weight)
    decision = rank(f, rs, tables, full=full)
    for s in decision.ranked:
        assert s.carrier not in excluded and s.carrier not in full
        served = tables.serves(s.carrier, ("IN", pickup), ("IN", BHIWANDI))
        assert served is not False
    shuffled = list(PROFILES.items())
    random.Random(seed).shuffle(shuffled)
    again = Allocator(dict(shuffled), AllocationConfig()).rank(f, rs, tables, OutcomeSnapshot(), full=full)
    assert again == decision


def test_forced_carrier_that_is_not_eligible_leaves_nothing() -> None:
    rs = rules({"name": "f", "then": {"force": "delta"}})
    decision = rank(facts(), rs)
    assert decision.ranked == () and decision.forced == "delta"


def test_profiles_are_not_mutated() -> None:
    before = dict(PROFILES)
    rank(facts(), rules({"name": "x", "then": {"exclude": ["alpha"]}}))
    assert PROFILES == before and replace(PROFILES["alpha"]) == PROFILES["alpha"]
