"""The analytics pages: server-rendered SVG charts over the seeded history of test_analytics."""

from __future__ import annotations

import re

from carriers.base import Address, Contact
from gateway.store.keys import Keys
from gateway.store.merchants import MerchantStore
from tests.integration.conftest import System, return_body
from tests.integration.test_analytics import seed
from tests.integration.test_ops_console import login

RANGE = "from=2026-10-25&to=2026-11-30"


def chart(page: str, title: str) -> str:
    found = re.search(rf'<figure class="panel chart">\s*<h2>{re.escape(title)}</h2>(.*?)</figure>', page, re.S)
    assert found, title
    return found[1]


async def test_the_merchant_page_charts_the_seeded_returns(system: System) -> None:
    await seed(system)
    resp = await system.client.get(f"/v1/analytics/returns.html?{RANGE}", headers=system.auth)
    assert resp.status == 200 and resp.content_type == "text/html"
    page = await resp.text()
    reasons = chart(page, "Returns by reason")
    assert "<svg" in reasons and reasons.count('<rect class="s0"') == 4
    assert "size too small" in reasons and "2 returns · 5 units" in reasons
    carriers = chart(page, "Pickup success rate by carrier")
    assert "delhivery" in carriers and "of " in carriers and "attempts" in carriers
    assert '<rect class="s0"' in chart(page, "Returns by day")
    skus = chart(page, "Top SKUs by return rate")
    assert "CAP" in skus and "67% · 2 of 3 units" in skus
    resolutions = chart(page, "Resolution mix (units)")
    assert "refund" in resolutions and "5 units" in resolutions and "exchange" in resolutions
    assert "/v1/analytics/returns?group_by=sku&amp;from=2026-10-25&amp;to=2026-11-30&amp;format=csv" in page


async def test_the_merchant_page_shows_only_its_own_data(system: System) -> None:
    await seed(system)
    _, key = await MerchantStore(system.redis, Keys(system.prefix), system.clock).create(
        "Other Shop", return_address=Address(line1="1 Depot Rd", city="Pune", state="Maharashtra", postcode="411001"),
        return_contact=Contact(name="Other Returns", phone="9800000002"))
    resp = await system.client.post("/v1/returns", headers={"Authorization": f"Bearer {key}"},
                                    json=return_body(items=[{"sku": "OTHER-SKU", "name": "x", "quantity": 1,
                                                             "price": "10.00", "category": "misc"}],
                                                     lines=[{"sku": "OTHER-SKU", "reason": "wrong_item"}]))
    assert resp.status == 201, await resp.text()
    mine = await (await system.client.get(f"/v1/analytics/returns.html?{RANGE}", headers=system.auth)).text()
    assert "wrong item" not in mine and "size too small" in mine
    theirs = await (await system.client.get(f"/v1/analytics/returns.html?{RANGE}",
                                            headers={"Authorization": f"Bearer {key}"})).text()
    assert "wrong item" in theirs and "size too small" not in theirs and "Other Shop" in theirs
    assert (await system.client.get("/v1/analytics/returns.html")).status == 401


async def test_the_ops_page_needs_a_login_and_filters_by_merchant(system: System) -> None:
    await seed(system)
    resp = await system.client.get("/ops/analytics", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/ops/login?next=")
    await login(system)
    page = await (await system.client.get(f"/ops/analytics?{RANGE}")).text()
    assert "All merchants" in page and "<svg" in chart(page, "Returns by reason")
    assert "size too small" in page
    one = await (await system.client.get(f"/ops/analytics?merchant={system.merchant.id}&{RANGE}")).text()
    assert "size too small" in chart(one, "Returns by reason")
    none = await (await system.client.get("/ops/analytics?merchant=m_nobody&from=2026-10-25&to=2026-10-26")).text()
    assert "No data yet" in none
    csv = await (await system.client.get(f"/ops/analytics.csv?group_by=reason&{RANGE}")).text()
    assert csv.startswith("key,returns") and "size_too_small,2,5" in csv
