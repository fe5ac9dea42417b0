"""Return policy over HTTP: refusals name the rule, overrides are audited, reviews wait for approval.

The `system` fixture runs with the shipped config/policy.yaml (default policy for "Acme Fashion").
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.integration.conftest import START, System, return_body


async def _post(system: System, **overrides: Any) -> tuple[int, dict[str, Any]]:
    resp = await system.client.post("/v1/returns", json=return_body(**overrides), headers=system.auth)
    return resp.status, dict(await resp.json())


def _item(**kw: Any) -> dict[str, Any]:
    return {"sku": "X-1", "name": "Thing", "quantity": 1, "price": "999.00", "category": "general", **kw}


async def test_non_returnable_category_is_refused_naming_the_rule_and_nothing_is_written(system: System) -> None:
    before = set(await system.keys())
    status, problem = await _post(system, items=[_item(category="innerwear")])
    assert status == 422
    assert problem["type"].endswith("/policy-violation") and problem["rule"] == "non_returnable_category"
    assert problem["errors"][0]["field"] == "items[0].category"
    assert set(await system.keys()) == before
    assert system.control.booking_calls == {}


async def test_window_counts_from_delivery_and_tier_extends_it(system: System) -> None:
    late = (START - timedelta(days=40)).isoformat()
    status, problem = await _post(system, delivered_at=late)
    assert status == 422 and problem["rule"] == "return_window"
    assert "40 days since delivery; the window is 30 days" in problem["detail"]
    status, ret = await _post(system, delivered_at=late, customer_tier="gold")
    assert status == 201, ret


async def test_override_is_recorded_in_the_audit_trail(system: System) -> None:
    status, problem = await _post(system, items=[_item(category="innerwear")], override_policy=True)
    assert status == 422 and problem["errors"][0]["field"] == "override_reason"
    status, ret = await _post(system, items=[_item(category="innerwear")], override_policy=True,
                              override_reason="sealed, wrong size shipped")
    assert status == 201
    [entry] = ret["audit"]
    assert entry["action"] == "policy_override" and entry["rules"] == ["non_returnable_category"]
    assert entry["detail"] == "sealed, wrong size shipped" and entry["actor"] == f"merchant:{system.merchant.id}"


async def test_max_returns_per_order(system: System) -> None:
    for _ in range(5):
        assert (await _post(system))[0] == 201
    status, problem = await _post(system)
    assert status == 422 and problem["rule"] == "max_returns_per_order"


async def test_review_queue_then_approve_books_once(system: System) -> None:
    status, ret = await _post(system, items=[_item(category="jewellery", price="4999.00")])
    assert status == 202 and ret["shipment"] is None and ret["review"]["status"] == "pending"
    assert system.control.booking_calls == {}
    queue = await (await system.client.get("/v1/reviews", headers=system.auth)).json()
    assert [r["id"] for r in queue["data"]] == [ret["id"]]
    url = f"/v1/returns/{ret['id']}/approve"
    resp = await system.client.post(url, json={"note": "checked photos"}, headers=system.auth)
    assert resp.status == 201
    approved = await resp.json()
    assert approved["shipment"]["carrier"] == "delhivery" and approved["review"]["status"] == "approved"
    assert approved["audit"][-1]["action"] == "approved" and approved["audit"][-1]["detail"] == "checked photos"
    again = await system.client.post(url, headers=system.auth)
    assert again.status == 409
    assert len(system.control.bookings_for(ret["id"])) == 1
    assert (await (await system.client.get("/v1/reviews", headers=system.auth)).json())["data"] == []


async def test_reject_cancels_without_booking(system: System) -> None:
    _, ret = await _post(system, items=[_item(category="jewellery")])
    resp = await system.client.post(f"/v1/returns/{ret['id']}/reject", headers=system.auth)
    assert resp.status == 200
    rejected = await resp.json()
    assert rejected["status"] == "cancelled" and rejected["review"]["status"] == "rejected"
    assert system.control.booking_calls == {}


async def test_preview_explains_the_decision_and_writes_nothing(system: System) -> None:
    before = set(await system.keys())
    body = return_body(items=[_item(category="mobiles", qc={"brand": "Acme"})])
    resp = await system.client.post("/v1/allocations/preview", json=body, headers=system.auth)
    assert resp.status == 200
    doc = await resp.json()
    decision = doc["decision"]
    assert decision["zone"] == "metro" and decision["area"] == "560"
    [top] = decision["ranked"]
    assert top["carrier"] == "delhivery" and top["serviceability"] == "live"
    assert set(top) >= {"score", "cost", "reliability", "speed", "preference", "price", "success_rate"}
    assert doc["policy"] == {"allowed": True, "violations": [], "needs_qc": True, "review_reasons": []}
    assert set(await system.keys()) == before
    unauthorized = await system.client.post("/v1/allocations/preview", json=body)
    assert unauthorized.status == 401


async def test_created_return_carries_its_allocation(system: System) -> None:
    ret = await system.create()
    assert ret["allocation"]["ranked"][0]["carrier"] == "delhivery"
    assert ret["allocation"]["weights"] == {"cost": 0.4, "reliability": 0.4, "speed": 0.2}
