"""The rules layer as the booker and the API use it: admit a return by policy, rank its carriers.

Built once per process from `config/` (allocation.yaml, rates.yaml, rules/*.yaml, policy.yaml);
a bad file stops the start with the file, the rule and what is wrong.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import redis.asyncio as aioredis

from carriers.base import Address, CarrierAdapter
from carriers.registry import registered_codes
from gateway.models import AuditEntry, Merchant, ReturnCreate
from gateway.problems import Problem
from gateway.rules.allocation import Allocator, profiles_for
from gateway.rules.capacity import Capacity
from gateway.rules.config import load_allocation, load_rates
from gateway.rules.decision import Decision, Excluded
from gateway.rules.facts import facts_of
from gateway.rules.learning import OutcomeLog
from gateway.rules.merchant_rules import MerchantRules, load_rules_dir
from gateway.rules.pickup_calendar import PickupCalendar, load_calendar
from gateway.rules.policy import OrderCounts, Policies, Policy, Verdict, evaluate, load_policies, refusal_errors
from gateway.rules.serviceability import ServiceabilityTables
from gateway.settings import Settings
from gateway.store.keys import Keys


@dataclass(frozen=True)
class Admission:
    """A return the policy lets in: whether it needs QC or review, and the audit of any override."""

    policy: Policy
    verdict: Verdict
    audit: tuple[AuditEntry, ...]

    @property
    def is_override(self) -> bool:
        return bool(self.audit)


@dataclass(frozen=True)
class Rules:
    allocator: Allocator
    merchant_rules: MerchantRules
    policies: Policies
    tables: ServiceabilityTables
    outcomes: OutcomeLog
    capacity: Capacity
    orders: OrderCounts
    # Which days each carrier picks up (config/pickup_calendar.yaml); the portal and the booker share it.
    calendar: PickupCalendar = dataclasses.field(default_factory=PickupCalendar)

    async def admit(self, merchant: Merchant, body: ReturnCreate, now: datetime) -> Admission:
        """Raises: Problem 422 (policy-violation, naming the rule) unless the merchant overrides it."""
        policy = self.policies.for_merchant(merchant.id, merchant.name)
        verdict = evaluate(policy, body, now, await self.orders.count(merchant.id, body.order_id))
        if verdict.is_allowed:
            return Admission(policy, verdict, ())
        rules = [v.rule for v in verdict.violations]
        if not body.override_policy:
            first = verdict.violations[0]
            raise Problem(422, "policy-violation", "The return policy does not allow this return",
                          f"{first.rule}: {first.detail}", refusal_errors(verdict.violations),
                          rule=first.rule, rules=rules)
        if not body.override_reason.strip():
            raise Problem(422, "validation-error", "The request body is not valid",
                          "override_reason: required when override_policy is true",
                          [{"field": "override_reason", "message": "required with override_policy", "type": "missing"}])
        entry = AuditEntry(at=now, action="policy_override", actor=f"merchant:{merchant.id}",
                           detail=body.override_reason.strip(), rules=rules)
        return Admission(policy, verdict, (entry,))

    async def decide(self, merchant: Merchant, body: ReturnCreate, drop: Address, now: datetime,
                     needs_qc: bool = False) -> Decision:
        """The ranking from the tables and outcome snapshots (no carrier is asked)."""
        ruleset = self.merchant_rules.for_merchant(merchant.id, merchant.name)
        facts = facts_of(body.pickup_address, drop, body.parcel, body.items, body.customer_tier, now,
                         ruleset.timezone, needs_qc)
        return self.allocator.rank(facts, ruleset, await self.tables.current(), await self.outcomes.current(),
                                   await self.capacity.full(now), body.carrier)


def drop_live(decision: Decision, refused: Mapping[str, str]) -> Decision:
    """The decision without the carriers a live serviceability check refused."""
    if not refused:
        return decision
    ranked = tuple(s for s in decision.ranked if s.carrier not in refused)
    excluded = decision.excluded + tuple(Excluded(c, "not_serviceable", f"{c} says: {why}") for c, why in
                                         sorted(refused.items()))
    return dataclasses.replace(decision, ranked=ranked, excluded=excluded)


def build_rules(settings: Settings, redis: aioredis.Redis, keys: Keys,
                adapters: Mapping[str, CarrierAdapter]) -> Rules:
    """Raises: ConfigError for a bad allocation, rates, rules, policy or pickup calendar file."""
    directory = settings.config_dir
    cfg = load_allocation(directory)
    known = set(registered_codes()) | set(settings.carriers) | set(adapters) | set(cfg.carriers)
    allocator = Allocator(profiles_for(adapters, cfg, load_rates(directory)), cfg)
    caps = {code: cfg.limits(code).daily_cap for code in adapters}
    return Rules(allocator=allocator, merchant_rules=load_rules_dir(directory / "rules", known),
                 policies=load_policies(directory / "policy.yaml"), tables=ServiceabilityTables(redis, keys),
                 outcomes=OutcomeLog(redis, keys, cfg.learning, list(adapters)), capacity=Capacity(redis, keys, caps),
                 orders=OrderCounts(redis, keys), calendar=load_calendar(directory, sorted(known)))
