"""The ops return page: one return across merchants, with its allocation, attempts and timeline."""

from __future__ import annotations

from gateway.store.keys import Keys
from tests.integration.conftest import System
from tests.integration.test_ops_console import failed_pickup, login


async def test_the_page_shows_the_decision_attempts_and_timeline(system: System) -> None:
    rid = await failed_pickup(system)
    await login(system)
    queue = await (await system.client.get("/ops/queue")).text()
    assert f'href="/ops/returns/{rid}"' in queue
    resp = await system.client.get(f"/ops/returns/{rid}")
    assert resp.status == 200
    page = await resp.text()
    ret = await system.get(rid)
    assert ret["shipment"]["awb"] in page and "delhivery" in page
    allocation = page.split('id="allocation"')[1].split('id="attempts"')[0]
    assert "<th>Total score</th>" in allocation and "<th>Reliability</th>" in allocation
    assert f"{ret['allocation']['ranked'][0]['score']:.3f}" in allocation
    attempts = page.split('id="attempts"')[1].split('id="audit"')[0]
    assert ret["booking_attempts"] and ret["booking_attempts"][0]["outcome"].replace("_", " ") in attempts
    timeline = page.split('id="timeline"')[1]
    assert "EOD-11" in timeline and "pickup failed" in timeline and "customer unavailable" in timeline


async def test_an_old_return_without_an_owner_key_is_found_by_scanning(system: System) -> None:
    rid = str((await system.create())["id"])
    await system.redis.delete(Keys(system.prefix).return_owner(rid))
    await login(system)
    assert (await system.client.get(f"/ops/returns/{rid}")).status == 200
    assert await system.redis.get(Keys(system.prefix).return_owner(rid)) == system.merchant.id


async def test_a_missing_return_is_a_404_page(system: System) -> None:
    await login(system)
    resp = await system.client.get("/ops/returns/ret_doesnotexist00")
    assert resp.status == 404 and "Return not found" in await resp.text()
    assert (await system.client.get("/ops/returns/ret_*")).status == 404


async def test_the_page_needs_a_login(system: System) -> None:
    rid = str((await system.create())["id"])
    resp = await system.client.get(f"/ops/returns/{rid}", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/ops/login?next=")
