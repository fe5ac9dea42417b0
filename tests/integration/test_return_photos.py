"""Customer photos: uploaded in the portal, downloaded by the merchant's API and by ops, never across merchants."""

from __future__ import annotations

import io

from PIL import Image

from gateway.store.keys import Keys
from gateway.store.merchants import MerchantStore
from tests.integration.conftest import System
from tests.integration.test_ops_console import login
from tests.integration.test_portal_flow import photo, rel, seed_order, session, submit


async def returned_with_photos(system: System) -> str:
    """A return made in the portal with two photos on the shoes and one on the T-shirts; its id."""
    await seed_order(system)
    url = await session(system)
    resp = await submit(system, url, qty_0="1", reason_0="size_too_small", res_0="refund",
                        photo_0=("a.jpg", photo((640, 480)), "image/jpeg"),
                        qty_1="1", reason_1="quality", res_1="refund",
                        photo_1=("b.jpg", photo((32, 32)), "image/jpeg"))
    assert resp.status == 303 and "/t/" in resp.headers["Location"], resp.headers
    listed = await (await system.client.get("/v1/returns", headers=system.auth)).json()
    return str(listed["data"][0]["id"])


async def test_photos_are_listed_and_downloaded_as_clean_jpegs(system: System) -> None:
    rid = await returned_with_photos(system)
    resp = await system.client.get(f"/v1/returns/{rid}/photos", headers=system.auth)
    assert resp.status == 200
    photos = (await resp.json())["data"]
    assert [(p["sku"], p["line"]) for p in photos] == [("SH-42", 0), ("TS-M", 1)]
    ret = await system.get(rid)
    assert [p["id"] for p in photos] == [pid for line in ret["request"]["lines"] for pid in line["photos"]]
    for listed in photos:
        assert listed["url"].endswith(f"/v1/returns/{rid}/photos/{listed['id']}")
        got = await system.client.get(rel(listed["url"]), headers=system.auth)
        assert got.status == 200 and got.content_type == "image/jpeg"
        assert got.headers["Cache-Control"].startswith("private") and got.headers["ETag"].startswith('"')
        data = await got.read()
        assert len(data) == listed["bytes"]
        image = Image.open(io.BytesIO(data))
        assert image.format == "JPEG" and len(image.getexif()) == 0 and b"SecretCam" not in data
        again = await system.client.get(rel(listed["url"]), headers={**system.auth,
                                                                      "If-None-Match": got.headers["ETag"]})
        assert again.status == 304 and await again.read() == b""
    big = Image.open(io.BytesIO(await (await system.client.get(rel(photos[0]["url"]), headers=system.auth)).read()))
    assert big.size == (640, 480)


async def test_unknown_ids_are_404_problems(system: System) -> None:
    rid = await returned_with_photos(system)
    for path in (f"/v1/returns/{rid}/photos/ph_0000000000000000", f"/v1/returns/{rid}/photos/..%2Fevents",
                 "/v1/returns/ret_nosuchreturn0/photos", "/v1/returns/ret_nosuchreturn0/photos/ph_0000000000000000"):
        resp = await system.client.get(path, headers=system.auth)
        assert resp.status == 404, path
        assert resp.content_type == "application/problem+json"
    assert (await system.client.get(f"/v1/returns/{rid}/photos")).status == 401


async def test_another_merchants_return_is_a_404(system: System) -> None:
    rid = await returned_with_photos(system)
    photos = (await (await system.client.get(f"/v1/returns/{rid}/photos", headers=system.auth)).json())["data"]
    _, other_key = await MerchantStore(system.redis, Keys(system.prefix), system.clock).create("Other Shop")
    other = {"Authorization": f"Bearer {other_key}"}
    assert (await system.client.get(f"/v1/returns/{rid}/photos", headers=other)).status == 404
    resp = await system.client.get(rel(photos[0]["url"]), headers=other)
    assert resp.status == 404 and (await resp.json())["title"] == "No such return"


async def test_a_return_without_photos_lists_none(system: System) -> None:
    rid = str((await system.create())["id"])
    resp = await system.client.get(f"/v1/returns/{rid}/photos", headers=system.auth)
    assert resp.status == 200 and (await resp.json())["data"] == []


async def test_ops_sees_the_photos_behind_its_login(system: System) -> None:
    rid = await returned_with_photos(system)
    photos = (await (await system.client.get(f"/v1/returns/{rid}/photos", headers=system.auth)).json())["data"]
    link = f"/ops/returns/{rid}/photos/{photos[0]['id']}"
    anonymous = await system.client.get(link, allow_redirects=False)
    assert anonymous.status == 303 and anonymous.headers["Location"].startswith("/ops/login?next=")
    await login(system)
    page = await (await system.client.get(f"/ops/returns/{rid}")).text()
    section = page.split('id="photos"')[1].split('id="audit"')[0]
    assert f'href="{link}"' in section and "SH-42" in section and "TS-M" in section
    image = await system.client.get(link)
    assert image.status == 200 and image.content_type == "image/jpeg"
    assert Image.open(io.BytesIO(await image.read())).format == "JPEG"
    assert (await system.client.get(f"/ops/returns/{rid}/photos/ph_0000000000000000")).status == 404
