"""Find every carrier the contract suite runs against: registered adapters and in-tree carrier folders.

A carrier takes part by registering its adapter in the `backhaul.carriers` entry-point group
and shipping `carriers/<slug>/sandbox.py` with:

    make_app(control: SandboxControl | None = None) -> web.Application
    adapter_settings(base_url: str) -> dict[str, Any]        settings that point the adapter at the sandbox
    webhook_example(control, awb, secret) -> (headers, body)  only when capabilities.webhook_push

and a status map `normalizers/maps/<slug>.yaml`.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import carriers

CARRIERS_DIR = Path(carriers.__file__).parent


def carrier_codes() -> list[str]:
    registered = {ep.name for ep in entry_points(group="backhaul.carriers")}
    in_tree = {p.parent.name for p in CARRIERS_DIR.glob("*/sandbox.py")}
    return sorted(registered | in_tree)


def sandbox_module(code: str) -> ModuleType:
    return importlib.import_module(f"carriers.{code}.sandbox")


def adapter_class(code: str) -> Any:
    for ep in entry_points(group="backhaul.carriers"):
        if ep.name == code:
            return ep.load()
    module = importlib.import_module(f"carriers.{code}.adapter")
    found = [v for v in vars(module).values() if isinstance(v, type) and getattr(v, "code", None) == code]
    assert found, f"carriers/{code}/adapter.py defines no adapter class with code {code!r}"
    return found[0]
