"""Merchant allocation rules: YAML files under `config/rules/`, validated at load, compiled to predicates.

Every rule whose conditions all hold fires, in file order: `exclude` and `prefer` add up,
the first `force` wins, the last `weights` win. A file that is wrong stops the load with the
file, the rule (index, name and line) and what is wrong. The format is in docs/rules.md and
at the top of config/rules/demo.yaml.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from carriers.errors import ConfigError
from gateway.rules.config import Weights
from gateway.rules.facts import Facts
from gateway.rules.zones import ZONES

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Predicate = Callable[[Facts], bool]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Strict):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class Clock(_Strict):
    start: str = Field(alias="from", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(alias="to", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class When(_Strict):
    pickup_pin: list[str] | None = Field(default=None, description="PIN prefixes of the pickup")
    zone: list[str] | None = None
    weight_g: Range | None = Field(default=None, description="chargeable weight, volumetric included")
    order_value: Range | None = None
    category: list[str] | None = None
    sku: list[str] | None = None
    customer_tier: list[str] | None = None
    day_of_week: list[Day] | None = None
    time_of_day: Clock | None = None

    @field_validator("zone")
    @classmethod
    def _zones(cls, value: list[str] | None) -> list[str] | None:
        unknown = sorted(set(value or ()) - set(ZONES))
        if unknown:
            raise ValueError(f"unknown zone(s) {unknown}; zones are {list(ZONES)}")
        return value

    @field_validator("pickup_pin")
    @classmethod
    def _prefixes(cls, value: list[str] | None) -> list[str] | None:
        bad = [p for p in value or () if not (p.isdigit() and 1 <= len(p) <= 6)]
        if bad:
            raise ValueError(f"PIN prefixes are 1 to 6 digits, not {bad}")
        return value


class Then(_Strict):
    prefer: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    force: str | None = None
    weights: Weights | None = None

    @model_validator(mode="after")
    def _some_action(self) -> Then:
        if not (self.prefer or self.exclude or self.force or self.weights):
            raise ValueError("a rule needs at least one action: prefer, exclude, force or weights")
        return self

    def carriers(self) -> set[str]:
        return {*self.prefer, *self.exclude, *([self.force] if self.force else [])}


class Rule(_Strict):
    name: str = Field(min_length=1, max_length=80)
    when: When = When()
    then: Then


class RulesFile(_Strict):
    merchant: str = Field(min_length=1, description="merchant id or name; '*' for every other merchant")
    timezone: str = "Asia/Kolkata"
    carriers: list[str] | None = Field(default=None, description="carriers enabled for this merchant")
    weights: Weights | None = None
    rules: list[Rule] = Field(default_factory=list, max_length=500)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    name: str
    predicates: tuple[Predicate, ...]
    prefer: frozenset[str]
    exclude: frozenset[str]
    force: str | None
    weights: tuple[float, float, float] | None  # normalised (cost, reliability, speed)

    def holds(self, facts: Facts) -> bool:
        return all(p(facts) for p in self.predicates)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """One merchant's compiled rules."""

    merchant: str
    timezone: ZoneInfo
    carriers: frozenset[str] | None
    weights: tuple[float, float, float] | None  # normalised (cost, reliability, speed)
    rules: tuple[CompiledRule, ...]
    source: str = ""

    def fire(self, facts: Facts) -> list[CompiledRule]:
        fired = []
        for rule in self.rules:  # a plain loop: this is the hot path of every decision
            for holds in rule.predicates:
                if not holds(facts):
                    break
            else:
                fired.append(rule)
        return fired


EMPTY = RuleSet("*", ZoneInfo("Asia/Kolkata"), None, None, ())


def _in_range(r: Range, value: Callable[[Facts], float]) -> Predicate:
    lo, hi = r.min if r.min is not None else float("-inf"), r.max if r.max is not None else float("inf")
    return lambda f: lo <= value(f) <= hi


def _in_clock(c: Clock) -> Predicate:
    start = int(c.start[:2]) * 60 + int(c.start[3:])
    end = int(c.end[:2]) * 60 + int(c.end[3:])
    if start <= end:
        return lambda f: start <= f.minute <= end
    return lambda f: f.minute >= start or f.minute <= end  # across midnight


def compile_when(w: When) -> tuple[Predicate, ...]:
    """The conditions of one rule as predicates, cheapest first."""
    out: list[Predicate] = []
    if w.zone is not None:
        zones = frozenset(w.zone)
        out.append(lambda f: f.zone in zones)
    if w.pickup_pin is not None:
        prefixes = tuple(w.pickup_pin)
        out.append(lambda f: f.pickup_pin.startswith(prefixes))
    if w.customer_tier is not None:
        tiers = frozenset(w.customer_tier)
        out.append(lambda f: f.customer_tier in tiers)
    if w.day_of_week is not None:
        days = frozenset(DAYS.index(d) for d in w.day_of_week)
        out.append(lambda f: f.weekday in days)
    if w.weight_g is not None:
        out.append(_in_range(w.weight_g, lambda f: f.weight_g))
    if w.order_value is not None:
        out.append(_in_range(w.order_value, lambda f: f.order_value))
    if w.time_of_day is not None:
        out.append(_in_clock(w.time_of_day))
    if w.category is not None:
        categories = frozenset(w.category)
        out.append(lambda f: not categories.isdisjoint(f.categories))
    if w.sku is not None:
        skus = frozenset(w.sku)
        out.append(lambda f: not skus.isdisjoint(f.skus))
    return tuple(out)


def compile_rules(doc: RulesFile, source: str = "") -> RuleSet:
    rules = tuple(CompiledRule(r.name, compile_when(r.when), frozenset(r.then.prefer), frozenset(r.then.exclude),
                               r.then.force, r.then.weights.normalised() if r.then.weights else None)
                  for r in doc.rules)
    carriers = frozenset(doc.carriers) if doc.carriers is not None else None
    weights = doc.weights.normalised() if doc.weights else None
    return RuleSet(doc.merchant, ZoneInfo(doc.timezone), carriers, weights, rules, source)


def _rule_lines(text: str) -> list[int]:
    """The line each rule of a rules file starts on (1-based), for error messages."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    rules = next((v for k, v in root.value if k.value == "rules"), None)
    if not isinstance(rules, yaml.SequenceNode):
        return []
    return [node.start_mark.line + 1 for node in rules.value]


def _where(path: Path, data: Any, lines: list[int], loc: tuple[Any, ...]) -> str:
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        index = loc[1]
        rule = data["rules"][index] if index < len(data.get("rules", [])) else None
        name = rule.get("name") if isinstance(rule, dict) else None
        line = f", line {lines[index]}" if index < len(lines) else ""
        rest = ".".join(str(p) for p in loc[2:]) or "(rule)"
        return f"{path}: rule {index + 1} {name!r}{line}: {rest}"
    return f"{path}: {'.'.join(str(p) for p in loc) or '(top level)'}"


def _check_semantics(doc: RulesFile, known: Iterable[str] | None) -> list[tuple[tuple[Any, ...], str]]:
    problems: list[tuple[tuple[Any, ...], str]] = []
    try:
        ZoneInfo(doc.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append((("timezone",), f"unknown time zone {doc.timezone!r}"))
    known_set = set(known) if known is not None else None
    seen: set[str] = set()
    for i, rule in enumerate(doc.rules):
        if rule.name in seen:
            problems.append((("rules", i, "name"), f"another rule is already named {rule.name!r}"))
        seen.add(rule.name)
        unknown = sorted(rule.then.carriers() - known_set) if known_set is not None else []
        if unknown:
            problems.append((("rules", i, "then"), f"unknown carrier(s) {unknown}; known: {sorted(known_set or ())}"))
    if known_set is not None and doc.carriers is not None and set(doc.carriers) - known_set:
        problems.append((("carriers",), f"unknown carrier(s) {sorted(set(doc.carriers) - known_set)}"))
    return problems


def load_rules_file(path: Path, known_carriers: Iterable[str] | None = None) -> RuleSet:
    """Raises: ConfigError naming the file, the rule (number, name, line) and what is wrong."""
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping with merchant, rules, ...")
    lines = _rule_lines(text)
    try:
        doc = RulesFile.model_validate(data)
    except ValidationError as exc:
        messages = [f"{_where(path, data, lines, tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise ConfigError("\n".join(messages)) from exc
    problems = _check_semantics(doc, known_carriers)
    if problems:
        raise ConfigError("\n".join(f"{_where(path, data, lines, loc)}: {msg}" for loc, msg in problems))
    return compile_rules(doc, str(path))


class MerchantRules:
    """Every merchant's rule set, found by merchant id, then name, then the '*' file."""

    def __init__(self, sets: Iterable[RuleSet] = ()) -> None:
        self.by_key = {s.merchant: s for s in sets}

    def for_merchant(self, merchant_id: str, name: str = "") -> RuleSet:
        return self.by_key.get(merchant_id) or self.by_key.get(name) or self.by_key.get("*") or EMPTY


def load_rules_dir(directory: Path, known_carriers: Iterable[str] | None = None) -> MerchantRules:
    """Raises: ConfigError for the first bad file, or two files for one merchant."""
    known = list(known_carriers) if known_carriers is not None else None
    sets: dict[str, RuleSet] = {}
    for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        ruleset = load_rules_file(path, known)
        if ruleset.merchant in sets:
            other = sets[ruleset.merchant].source
            raise ConfigError(f"{path}: merchant {ruleset.merchant!r} already has rules in {other}")
        sets[ruleset.merchant] = ruleset
    return MerchantRules(sets.values())
