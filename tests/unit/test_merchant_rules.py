"""Merchant rules files: the shipped example loads; a bad file names the file, the rule and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from carriers.errors import ConfigError
from gateway.rules.config import load_allocation
from gateway.rules.merchant_rules import load_rules_dir, load_rules_file

CONFIG = Path(__file__).parents[2] / "config"
KNOWN = ["delhivery", "bluedart", "shadowfax"]
GOOD_RULE = "  - name: ok\n    then: {prefer: [delhivery]}\n"


def test_shipped_rules_load_against_the_configured_carriers() -> None:
    rules = load_rules_dir(CONFIG / "rules", load_allocation(CONFIG).carriers)
    demo = rules.for_merchant("mer_unknown", "Demo Store")
    assert demo.merchant == "Demo Store" and len(demo.rules) >= 5
    assert rules.for_merchant("mer_other", "Other").rules == ()


BAD = [
    ("unknown zone", "  - name: ne\n    when: {zone: [north-east]}\n    then: {prefer: [delhivery]}\n",
     "rule 2 'ne', line 5: when.zone", "unknown zone"),
    ("unknown carrier", "  - name: typo\n    then: {exclude: [delhivry]}\n", "rule 2 'typo'", "delhivry"),
    ("no action", "  - name: idle\n    when: {sku: [A]}\n    then: {}\n", "rule 2 'idle'", "at least one action"),
    ("bad day", "  - name: d\n    when: {day_of_week: [funday]}\n    then: {prefer: [delhivery]}\n",
     "rule 2 'd', line 5: when.day_of_week.0", "'mon'"),
    ("bad time",
     "  - name: t\n    when: {time_of_day: {from: '25:00', to: '06:00'}}\n    then: {prefer: [delhivery]}\n",
     "rule 2 't', line 5: when.time_of_day.from", "pattern"),
    ("min above max", "  - name: w\n    when: {weight_g: {min: 5, max: 1}}\n    then: {prefer: [delhivery]}\n",
     "rule 2 'w', line 5: when.weight_g", "above max"),
    ("unknown condition", "  - name: u\n    when: {colour: [red]}\n    then: {prefer: [delhivery]}\n",
     "rule 2 'u', line 5: when.colour", "Extra inputs"),
    ("duplicate name", "  - name: ok\n    then: {exclude: [bluedart]}\n", "rule 2 'ok'", "already named"),
    ("bad pin prefix", "  - name: p\n    when: {pickup_pin: ['56A']}\n    then: {prefer: [delhivery]}\n",
     "rule 2 'p', line 5: when.pickup_pin", "1 to 6 digits"),
]


@pytest.mark.parametrize(("name", "rule", "where", "what"), BAD, ids=[b[0] for b in BAD])
def test_bad_rule_names_file_rule_and_reason(tmp_path: Path, name: str, rule: str, where: str, what: str) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text("merchant: acme\nrules:\n" + GOOD_RULE + rule, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_rules_file(path, KNOWN)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert where in message and what in message, message


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("merchant: acme\nrules:\n  - name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken.yaml, line \d+: not valid YAML"):
        load_rules_file(path, KNOWN)


def test_unknown_timezone_and_two_files_for_one_merchant(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("merchant: acme\ntimezone: Mars/Olympus\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="timezone: unknown time zone"):
        load_rules_dir(tmp_path, KNOWN)
    (tmp_path / "a.yaml").write_text("merchant: acme\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("merchant: acme\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="already has rules in"):
        load_rules_dir(tmp_path, KNOWN)
