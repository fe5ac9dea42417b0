"""Orders: POST /v1/orders single and bulk (idempotent by order id), and the CSV import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway import keys
from gateway.portal.orders_import import import_orders
from tests.integration.conftest import START, System


def order_body(order_id: str = "ORD-1001", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_id": order_id, "customer_name": "Asha Rao", "customer_email": "Asha@Example.com",
        "customer_phone": "98000 00000", "delivered_at": "2026-10-30T10:00:00+05:30",
        "address": {"line1": "12 MG Road", "city": "Bengaluru", "state": "Karnataka", "postcode": "560001"},
        "items": [
            {"sku": "SH-42", "name": "Running shoes", "quantity": 1, "price": "2499.00", "category": "footwear",
             "image_url": "https://cdn.acme.example/sh42.jpg", "variants": ["SH-43", "SH-41"]},
            {"sku": "TS-M", "name": "Cotton T-shirt", "quantity": 3, "price": "499.00", "category": "apparel"},
        ],
    }
    body.update(overrides)
    return body


async def test_single_order_is_stored_and_idempotent(system: System) -> None:
    resp = await system.client.post("/v1/orders", json=order_body(), headers=system.auth)
    assert resp.status == 201, await resp.text()
    doc = await resp.json()
    assert doc["status"] == "created"
    assert doc["customer_phone"] == "+919800000000" and doc["customer_email"] == "asha@example.com"
    again = await system.client.post("/v1/orders", json=order_body(), headers=system.auth)
    assert again.status == 200 and (await again.json())["status"] == "unchanged"
    changed = order_body(items=[order_body()["items"][0]])
    resp = await system.client.post("/v1/orders", json=changed, headers=system.auth)
    assert (await resp.json())["status"] == "updated"
    got = await (await system.client.get("/v1/orders/ORD-1001", headers=system.auth)).json()
    assert [i["sku"] for i in got["items"]] == ["SH-42"] and got["returned"] == {}


async def test_bulk_reports_bad_orders_and_keeps_good_ones(system: System) -> None:
    bad_email = order_body("ORD-2", customer_email="not-an-email")
    no_contact = order_body("ORD-3", customer_email="", customer_phone="")
    body = {"orders": [order_body("ORD-1"), bad_email, no_contact, order_body("ORD-4")]}
    resp = await system.client.post("/v1/orders", json=body, headers=system.auth)
    assert resp.status == 207
    doc = await resp.json()
    assert [r["status"] for r in doc["data"]] == ["created", "error", "error", "created"]
    assert doc["data"][1]["errors"][0]["field"] == "orders[1].customer_email"
    assert (await system.client.get("/v1/orders/ORD-2", headers=system.auth)).status == 404
    assert (await system.client.get("/v1/orders/ORD-4", headers=system.auth)).status == 200


async def test_orders_are_the_merchants_own(system: System) -> None:
    await system.client.post("/v1/orders", json=order_body(), headers=system.auth)
    assert (await system.client.get("/v1/orders/ORD-1001")).status == 401


HEADER = "order_id,customer_name,customer_email,customer_phone,delivered_at,line1,city,postcode,"
A1 = "A-1,Asha Rao,asha@example.com,9800000000,2026-10-30T10:00:00+05:30,12 MG Road,Bengaluru,560001,"
CSV = HEADER + """sku,name,quantity,price,category
""" + A1 + """SH-42,Shoes,1,2499.00,footwear
""" + A1 + """TS-M,Tee,2,499.00,apparel
A-2,Ravi K,,,2026-10-30T10:00:00+05:30,,,,CAP,Cap,1,199.00,accessories
A-3,Meera,meera@example.com,,2026-10-30T10:00:00+05:30,,,,BAG,Bag,-4,999.00,bags
A-3,Meera,meera@example.com,,2026-10-30T10:00:00+05:30,,,,BELT,Belt,1,oops,accessories
A-4,Dev,dev@example.com,,2026-10-30T10:00:00+05:30,,,,SOCK,Socks,2,99.00,apparel
A-4,Dev,dev@example.com,,2026-10-30T10:00:00+05:30,,,,BADQ,Broken,x,99.00,apparel
"""


async def test_csv_import_skips_bad_rows_and_reports_them(system: System, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(CSV, encoding="utf-8")
    seen: list[tuple[int, int]] = []
    report = await import_orders(system.app[keys.ORDERS], system.merchant.id, path, START,
                                 lambda done, total: seen.append((done, total)))
    assert report.rows == 7 and report.orders_saved == 2
    assert [line for line, _ in report.errors] == [4, 5, 6, 8]
    assert "customer_email or customer_phone" in report.errors[0][1]
    assert "quantity" in report.errors[1][1] and "price" in report.errors[2][1]
    assert seen[-1] == (4, 4)
    a1 = await system.app[keys.ORDERS].get(system.merchant.id, "A-1")
    a4 = await system.app[keys.ORDERS].get(system.merchant.id, "A-4")
    assert a1 is not None and [i.sku for i in a1.items] == ["SH-42", "TS-M"] and a1.address is not None
    assert a4 is not None and [i.sku for i in a4.items] == ["SOCK"]
    again = await import_orders(system.app[keys.ORDERS], system.merchant.id, path, START)
    assert again.outcomes == {"unchanged": 2}
