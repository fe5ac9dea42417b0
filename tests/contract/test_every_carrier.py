"""One behavioural suite for every carrier: its adapter against its own sandbox, over real HTTP.

Booking, label, a full lifecycle that normalizes to `delivered`, a failed pickup with a reason
and a re-attempt, cancel (also from a process that did not book), webhooks, and every fault kind
ending in the right error class without a double booking. The checks live in `checks.py`; a new
carrier gets all of them by registering (see conftest.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib.metadata import entry_points
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from carriers.sandbox import SandboxControl
from normalizers.maps import MAPS_DIR, load_map
from tests.contract import checks
from tests.contract.conftest import adapter_class, carrier_codes, sandbox_module

CODES = carrier_codes()
pytestmark = pytest.mark.parametrize("code", CODES)


@pytest.fixture
def control() -> SandboxControl:
    return SandboxControl()


@pytest.fixture
async def server(code: str, aiohttp_server: Any, control: SandboxControl) -> TestServer:
    srv: TestServer = await aiohttp_server(sandbox_module(code).make_app(control))
    return srv


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def subject(code: str, server: TestServer, session: aiohttp.ClientSession,
            control: SandboxControl) -> checks.Subject:
    sandbox = sandbox_module(code)
    build = checks.adapter_factory(adapter_class(code), sandbox, str(server.make_url("")), session, control)
    return checks.Subject(code, sandbox, server.app, control, load_map(MAPS_DIR / f"{code}.yaml"), build)


def test_is_registered_with_a_map(code: str) -> None:
    assert code in {ep.name for ep in entry_points(group="backhaul.carriers")}, \
        f"add {code} to [project.entry-points.'backhaul.carriers'] in pyproject.toml"
    assert load_map(MAPS_DIR / f"{code}.yaml").carrier == code
    assert adapter_class(code).code == code


async def test_book_label_and_full_lifecycle(subject: checks.Subject) -> None:
    await checks.book_label_and_full_lifecycle(subject)


async def test_failed_pickup_has_a_reason_then_a_reattempt(subject: checks.Subject) -> None:
    await checks.failed_pickup_has_a_reason_then_a_reattempt(subject)


async def test_cancel_is_idempotent_and_shows_in_tracking(subject: checks.Subject) -> None:
    await checks.cancel_is_idempotent_and_shows_in_tracking(subject)


async def test_cancel_after_a_restart_uses_the_carrier_reference(subject: checks.Subject) -> None:
    await checks.cancel_after_a_restart_uses_the_carrier_reference(subject)


async def test_webhook_is_verified_and_parsed(subject: checks.Subject) -> None:
    await checks.webhook_is_verified_and_parsed(subject)


@pytest.mark.parametrize("kind", checks.FAULT_KINDS)
async def test_faults_end_in_the_right_error_without_double_booking(subject: checks.Subject, kind: str) -> None:
    await checks.fault_ends_in_the_right_error_without_double_booking(subject, kind)


async def test_429_with_retry_after_is_waited_out(subject: checks.Subject) -> None:
    await checks.retry_after_is_waited_out(subject)


async def test_concurrent_identical_bookings_book_once(subject: checks.Subject) -> None:
    await checks.concurrent_identical_bookings_book_once(subject)
