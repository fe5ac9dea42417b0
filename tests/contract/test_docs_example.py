"""The Acme Parcel example of docs/adding-a-carrier.md passes the same contract as every carrier, and stays small."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from carriers.sandbox import SandboxControl
from normalizers.maps import load_map
from tests.contract import checks

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
PACKAGE = "backhaul_docs_acme"  # a private name: "acme" alone may be another installed package
MAX_LINES = 300


@pytest.fixture(scope="module")
def acme() -> Iterator[Callable[[str], ModuleType]]:
    """Import docs/examples/acme/ by path as a package, so its relative imports work."""
    spec = importlib.util.spec_from_file_location(PACKAGE, EXAMPLES / "acme" / "__init__.py",
                                                  submodule_search_locations=[str(EXAMPLES / "acme")])
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)
    yield lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
        del sys.modules[name]


@pytest.fixture
async def subject(acme: Callable[[str], ModuleType], aiohttp_server: Any) -> AsyncIterator[checks.Subject]:
    sandbox, control = acme("sandbox"), SandboxControl()
    server: TestServer = await aiohttp_server(sandbox.make_app(control))
    async with aiohttp.ClientSession() as session:
        build = checks.adapter_factory(acme("adapter").AcmeAdapter, sandbox, str(server.make_url("")),
                                       session, control)
        yield checks.Subject("acme", sandbox, server.app, control, load_map(EXAMPLES / "acme.yaml"), build)


def test_the_example_stays_under_300_lines() -> None:
    files = sorted((EXAMPLES / "acme").glob("*.py"))
    assert {f.name for f in files} >= {"__init__.py", "settings.py", "wire.py", "adapter.py", "sandbox.py"}
    lines = sum(1 for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip())
    assert lines < MAX_LINES, f"docs/examples/acme has {lines} non-blank lines; the doc promises < {MAX_LINES}"


def test_the_map_is_acmes(acme: Callable[[str], ModuleType]) -> None:
    assert load_map(EXAMPLES / "acme.yaml").carrier == acme("adapter").AcmeAdapter.code == "acme"


@pytest.mark.parametrize("check", checks.CHECKS, ids=lambda c: c.__name__)
async def test_the_contract(subject: checks.Subject, check: Callable[[checks.Subject], Any]) -> None:
    await check(subject)


@pytest.mark.parametrize("kind", checks.FAULT_KINDS)
async def test_faults(subject: checks.Subject, kind: str) -> None:
    await checks.fault_ends_in_the_right_error_without_double_booking(subject, kind)
