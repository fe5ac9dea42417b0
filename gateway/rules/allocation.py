"""Rank the carriers for one return: hard filters, then a weighted score; pure and deterministic.

`Allocator.rank` reads only its arguments (facts, the merchant's rules and the snapshots of
serviceability, outcomes and capacity), so the same inputs give the same ranking; ties go to
the carrier code. Every carrier is either ranked with each criterion's score or excluded
with the reason (and the rule, when a rule did it).

    score = w_cost * cheapest_price / price + w_reliability * success / best_success
          + w_speed * fastest_turnaround / turnaround + preference_bonus * preferring_rules
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from carriers.base import CarrierAdapter
from gateway.rules.config import AllocationConfig, RateCard, Rates
from gateway.rules.decision import Decision, Excluded, Scored
from gateway.rules.facts import Facts
from gateway.rules.learning import OutcomeSnapshot
from gateway.rules.merchant_rules import CompiledRule, RuleSet
from gateway.rules.serviceability import ServiceabilitySnapshot

_NO_PRICE_SCORE = 0.5  # a carrier without a rate card for the zone is neither cheap nor dear


@dataclass(frozen=True, slots=True)
class CarrierProfile:
    """What ranking needs to know about one carrier."""

    code: str
    reverse_pickup: bool = True
    doorstep_qc: bool = False
    countries: frozenset[str] = frozenset({"IN"})
    max_weight_g: int | None = None
    max_side_cm: float | None = None
    rate_card: RateCard | None = None


@dataclass(frozen=True, slots=True)
class _RuleEffects:
    weights: tuple[float, float, float]
    excluded: Mapping[str, str]
    preferred: Mapping[str, tuple[str, ...]]
    force: tuple[str, str] | None


def _effects(fired: list[CompiledRule], weights: tuple[float, float, float]) -> _RuleEffects:
    excluded: dict[str, str] = {}
    preferred: dict[str, tuple[str, ...]] = {}
    force: tuple[str, str] | None = None
    for rule in fired:
        if rule.weights is not None:
            weights = rule.weights
        for code in rule.exclude:
            excluded.setdefault(code, rule.name)
        for code in rule.prefer:
            preferred[code] = (*preferred.get(code, ()), rule.name)
        if rule.force is not None and force is None:
            force = (rule.force, rule.name)
    return _RuleEffects(weights, excluded, preferred, force)


class Allocator:
    """The carriers Backhaul may use and the operator's allocation config."""

    def __init__(self, profiles: Mapping[str, CarrierProfile], cfg: AllocationConfig | None = None) -> None:
        self.profiles = dict(profiles)
        self.cfg = cfg or AllocationConfig()
        # Read once: pydantic attribute access and sorting cost more than the ranking itself.
        self._ordered = tuple(self.profiles[c] for c in sorted(self.profiles))
        self._weights = self.cfg.weights.normalised()
        self._learning = self.cfg.learning
        self._bonus = self.cfg.preference_bonus
        self._cards = {p.code: (p.rate_card.slab_g, {z: (r.first, r.extra) for z, r in p.rate_card.zones.items()})
                       for p in self._ordered if p.rate_card is not None}

    def price(self, code: str, zone: str, weight_g: int) -> float | None:
        """`RateCard.price` from plain tuples (the same figures, read without pydantic on the hot path)."""
        card = self._cards.get(code)
        rate = card[1].get(zone) if card else None
        if card is None or rate is None:
            return None
        slabs = -(-weight_g // card[0]) or 1
        return rate[0] + (slabs - 1) * rate[1]

    def rank(self, facts: Facts, ruleset: RuleSet, tables: ServiceabilitySnapshot, outcomes: OutcomeSnapshot,
             full: frozenset[str] = frozenset(), requested: str | None = None) -> Decision:
        """The carriers that may take this return, best first, and the ones that may not, with why."""
        fired = ruleset.fire(facts)
        fx = _effects(fired, ruleset.weights or self._weights)
        excluded: list[Excluded] = []
        eligible: list[tuple[CarrierProfile, str]] = []
        for profile in self._ordered:
            why = self._filter(profile, facts, ruleset, full, requested) or _by_rule(profile.code, fx)
            if why is not None:
                excluded.append(why)
                continue
            seen = tables.serves_slots(profile.code, facts.pickup_country, facts.pickup_slot, facts.drop_country,
                                       facts.drop_slot)
            if seen is False:
                excluded.append(Excluded(profile.code, "not_serviceable", f"no pickup at {facts.pickup_pin} or no "
                                         f"delivery to {facts.drop_pin} in {profile.code}'s serviceability table"))
                continue
            eligible.append((profile, "live" if seen is None else "table"))
        ranked = self._score(eligible, facts, outcomes, fx)
        return Decision(tuple(ranked), tuple(excluded), tuple(r.name for r in fired),
                        {"cost": fx.weights[0], "reliability": fx.weights[1], "speed": fx.weights[2]},
                        facts.zone, facts.area, facts.weight_g, fx.force[0] if fx.force else None)

    def _filter(self, p: CarrierProfile, f: Facts, ruleset: RuleSet, full: frozenset[str],
                requested: str | None) -> Excluded | None:
        if ruleset.carriers is not None and p.code not in ruleset.carriers:
            return Excluded(p.code, "not_enabled", "not enabled for this merchant")
        if requested is not None and p.code != requested:
            return Excluded(p.code, "not_requested", f"the request asks for {requested}")
        if not p.reverse_pickup:
            return Excluded(p.code, "no_reverse_pickup", "does not do reverse pickups")
        if f.needs_qc and not p.doorstep_qc:
            return Excluded(p.code, "no_doorstep_qc", "the items need a doorstep quality check")
        if f.pickup_country not in p.countries or f.drop_country not in p.countries:
            return Excluded(p.code, "country", f"does not serve {f.pickup_country} to {f.drop_country}")
        if p.max_weight_g is not None and f.weight_g > p.max_weight_g:
            return Excluded(p.code, "too_heavy", f"chargeable {f.weight_g} g is over {p.max_weight_g} g")
        if p.max_side_cm is not None and f.longest_side_cm > p.max_side_cm:
            return Excluded(p.code, "too_long", f"a {f.longest_side_cm:g} cm side is over {p.max_side_cm:g} cm")
        if p.code in full:
            return Excluded(p.code, "at_capacity", "today's pickup cap is used up")
        return None

    def _score(self, eligible: list[tuple[CarrierProfile, str]], f: Facts, outcomes: OutcomeSnapshot,
               fx: _RuleEffects) -> list[Scored]:
        if not eligible:
            return []
        prices = [self.price(p.code, f.zone, f.weight_g) for p, _ in eligible]
        estimates = [outcomes.estimate(p.code, f.area, f.now_s, self._learning) for p, _ in eligible]
        known = [x for x in prices if x is not None]
        cheapest = min(known) if known else None
        best_rate = max(e.success_rate for e in estimates)
        fastest = min(e.turnaround_h for e in estimates)
        wc, wr, ws = fx.weights
        out = []
        for (p, seen), price, est in zip(eligible, prices, estimates, strict=True):
            cost = _NO_PRICE_SCORE if price is None or cheapest is None else (cheapest / price if price > 0 else 1.0)
            rel, speed = est.success_rate / best_rate, fastest / est.turnaround_h
            by = fx.preferred.get(p.code, ())
            pref = self._bonus * len(by)
            # Rounded so float noise cannot reorder carriers whose scores are equal.
            total = round(wc * cost + wr * rel + ws * speed + pref, 9)
            out.append(Scored(p.code, total, cost, rel, speed, pref, price, est.success_rate, est.turnaround_h,
                              est.attempts, seen, by))
        out.sort(key=lambda s: (-s.score, s.carrier))
        return out


def _by_rule(code: str, fx: _RuleEffects) -> Excluded | None:
    if code in fx.excluded:
        return Excluded(code, "rule_exclude", f"excluded by rule {fx.excluded[code]!r}", fx.excluded[code])
    if fx.force is not None and fx.force[0] != code:
        return Excluded(code, "rule_force", f"rule {fx.force[1]!r} forces {fx.force[0]}", fx.force[1])
    return None


def profiles_for(adapters: Mapping[str, CarrierAdapter], cfg: AllocationConfig,
                 rates: Rates) -> dict[str, CarrierProfile]:
    """Profiles from each adapter's capabilities, the configured limits and the rate cards."""
    out = {}
    for code, adapter in adapters.items():
        caps, limits = adapter.capabilities, cfg.limits(code)
        out[code] = CarrierProfile(code, caps.reverse_pickup, caps.doorstep_qc, frozenset(caps.countries),
                                   limits.max_weight_g, limits.max_side_cm, rates.carriers.get(code))
    return out
