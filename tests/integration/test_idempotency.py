"""Idempotency-Key: the same key and body book once and answer the same; another body is refused."""

from __future__ import annotations

import asyncio

from tests.integration.conftest import System, return_body


async def test_twenty_concurrent_identical_requests_book_once(system: System) -> None:
    headers = {**system.auth, "Idempotency-Key": "order-1001-return-1"}

    async def post() -> tuple[int, dict[str, object]]:
        resp = await system.client.post("/v1/returns", json=return_body(), headers=headers)
        return resp.status, await resp.json()

    answers = await asyncio.gather(*(post() for _ in range(20)))
    assert {status for status, _ in answers} == {201}
    assert all(body == answers[0][1] for _, body in answers)
    assert len(system.control.bookings) == 1
    assert sum(system.control.booking_calls.values()) == 1
    listed = await (await system.client.get("/v1/returns", headers=system.auth)).json()
    assert len(listed["data"]) == 1


async def test_same_key_with_another_body_is_refused(system: System) -> None:
    headers = {**system.auth, "Idempotency-Key": "k-1"}
    first = await system.client.post("/v1/returns", json=return_body(), headers=headers)
    assert first.status == 201
    other = await system.client.post("/v1/returns", json=return_body(order_id="ORD-OTHER"), headers=headers)
    assert other.status == 422
    assert (await other.json())["type"].endswith("idempotency-key-reused")
    assert len(system.control.bookings) == 1


async def test_key_of_a_failed_request_can_be_retried(system: System) -> None:
    headers = {**system.auth, "Idempotency-Key": "k-2"}
    bad = return_body(pickup_address={"line1": "1 Road", "city": "Itanagar", "postcode": "791111"})
    assert (await system.client.post("/v1/returns", json=bad, headers=headers)).status == 422
    # The failed attempt did not keep the key, so the corrected request (another body) goes through.
    good = await system.client.post("/v1/returns", json=return_body(), headers=headers)
    assert good.status == 201


async def test_a_carrier_timeout_that_booked_does_not_book_twice(system: System) -> None:
    # The sandbox books, then holds its answer past the client timeout; the adapter retries.
    system.control.add_fault("timeout", times=1, path="/api/cmu", delay_s=5)
    resp = await system.client.post("/v1/returns", json=return_body(), headers=system.auth)
    assert resp.status == 201
    ret = await resp.json()
    assert len(system.control.bookings_for(ret["id"])) == 1
    assert ret["shipment"]["awb"] == system.control.bookings_for(ret["id"])[0].awb
