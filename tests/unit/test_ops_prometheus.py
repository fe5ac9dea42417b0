"""The shipped Prometheus rules and Grafana dashboard: valid, and naming only metrics Backhaul exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from gateway.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "backhaul.json"
_NAME = re.compile(r"\bbackhaul_[a-z_]+\b")


def exported() -> set[str]:
    names = set()
    for family in Metrics().registry.collect():
        names.add(family.name)
        names.update(f"{family.name}{suffix}" for suffix in ("_total", "_count", "_sum", "_bucket", "_created"))
    return names


def test_promtool_accepts_the_rules() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found: apt-get install prometheus", pytrace=False)
    result = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_have_severity_summary_and_known_metrics() -> None:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert len(rules) >= 8
    names = exported()
    for rule in rules:
        assert rule["alert"].startswith("Backhaul") and rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]
        assert set(_NAME.findall(rule["expr"])) <= names, rule["alert"]


def test_dashboard_panels_query_known_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] and dashboard["title"] and isinstance(dashboard["schemaVersion"], int)
    names, ids = exported(), set()
    for panel in dashboard["panels"]:
        assert panel["type"] in ("timeseries", "stat", "table", "bargauge") and panel["title"]
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"]) and panel["id"] not in ids
        ids.add(panel["id"])
        for target in panel["targets"]:
            found = set(_NAME.findall(target["expr"]))
            assert found and found <= names, target["expr"]
    ops_metrics = {n for n in names if n.startswith("backhaul_ops_")}
    queried = {m for p in dashboard["panels"] for t in p["targets"] for m in _NAME.findall(t["expr"])}
    assert {"backhaul_ops_npr_total", "backhaul_ops_stuck_shipments", "backhaul_ops_alerts_open"} <= queried
    assert ops_metrics
