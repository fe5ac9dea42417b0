"""Bad input is refused with problem+json naming the field, and nothing reaches Redis or the carrier."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import System, return_body


def _without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    node = body
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return body


CASES = [
    ("missing customer", _without(return_body(), "customer"), 422, "customer"),
    ("missing item price", _without(return_body(), "items", 0, "price"), 422, "items[0].price"),  # type: ignore[arg-type]
    ("weight is text", return_body(parcel={"weight_g": "heavy"}), 422, "parcel.weight_g"),
    ("unknown PIN", return_body(pickup_address={"line1": "1 Road", "city": "X", "postcode": "999999"}), 422,
     "pickup_address.postcode"),
    ("bad phone", return_body(customer={"name": "A", "phone": "12"}), 422, "customer.phone"),
    ("no items", return_body(items=[]), 422, "items"),
    ("unknown field", return_body(colour="red"), 422, "colour"),
    ("not an object", [1, 2], 422, "(body)"),
]


async def _assert_nothing_written(system: System, keys_before: set[str]) -> None:
    # The carrier guard's call stats (`{cg:<carrier>}:...`) count a live serviceability check; no return data.
    assert {k for k in await system.keys() if "{cg:" not in k} == keys_before
    assert system.control.bookings == {}
    assert sum(system.control.booking_calls.values()) == 0


@pytest.mark.parametrize(("name", "body", "status", "field"), CASES, ids=[c[0] for c in CASES])
async def test_invalid_body_is_refused_with_the_field_path(system: System, name: str, body: Any, status: int,
                                                           field: str) -> None:
    before = set(await system.keys())
    resp = await system.client.post("/v1/returns", json=body, headers={**system.auth, "Idempotency-Key": name})
    assert resp.status == status
    assert resp.content_type == "application/problem+json"
    problem = await resp.json()
    assert problem["status"] == status
    assert field in [e["field"] for e in problem["errors"]], problem
    await _assert_nothing_written(system, before)


async def test_broken_json_names_line_and_column(system: System) -> None:
    before = set(await system.keys())
    resp = await system.client.post("/v1/returns", data=b'{"order_id": "A",\n  "items": [}',
                                    headers={**system.auth, "Content-Type": "application/json"})
    assert resp.status == 400
    problem = await resp.json()
    assert "line 2" in problem["detail"]
    await _assert_nothing_written(system, before)


async def test_oversized_body_is_refused(system: System) -> None:
    before = set(await system.keys())
    body = json.dumps(return_body(reason="x" * 400_000))
    resp = await system.client.post("/v1/returns", data=body,
                                    headers={**system.auth, "Content-Type": "application/json"})
    assert resp.status == 413
    assert resp.content_type == "application/problem+json"
    await _assert_nothing_written(system, before)


@pytest.mark.parametrize("header", [None, "Bearer bh_live_wrong", "Basic dXNlcjpwYXNz", "Bearer "])
async def test_wrong_api_key_is_401(system: System, header: str | None) -> None:
    before = set(await system.keys())
    headers = {"Authorization": header} if header else {}
    resp = await system.client.post("/v1/returns", json=return_body(), headers=headers)
    assert resp.status == 401
    assert resp.content_type == "application/problem+json"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    await _assert_nothing_written(system, before)


async def test_non_serviceable_pin_is_refused_before_anything_is_written(system: System) -> None:
    before = set(await system.keys())
    body = return_body(pickup_address={"line1": "1 Road", "city": "Itanagar", "postcode": "791111"})
    resp = await system.client.post("/v1/returns", json=body, headers=system.auth)
    assert resp.status == 422
    problem = await resp.json()
    assert problem["type"].endswith("not-serviceable")
    assert problem["errors"][0]["field"] == "pickup_address.postcode"
    await _assert_nothing_written(system, before)


async def test_carrier_down_keeps_the_return_and_retries_the_booking(system: System) -> None:
    system.control.add_fault("5xx", times=10, path="/api/cmu")
    resp = await system.client.post("/v1/returns", json=return_body(), headers=system.auth)
    assert resp.status == 202
    ret = await resp.json()
    assert ret["shipment"] is None
    assert ret["booking_attempts"][0]["outcome"] == "unavailable"
    system.control.clear_faults()
    await system.advance(hours=1)
    booked = await system.get(ret["id"])
    assert booked["shipment"] is not None
    assert len(system.control.bookings_for(ret["id"])) == 1
