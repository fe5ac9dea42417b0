"""One-time codes on the portal's identify step, and the customer's confirmation after a submit.

Mail goes to a real SMTP server (aiosmtpd) on 127.0.0.1; SMS to a small provider app on a real
port (the one edge we do not own). Time is the app's ManualClock: code expiry and the resend
wait follow it. The merchant asks for codes through a copy of the shipped config whose
`return_reasons.yaml` sets `verify` for it.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.smtp import SMTP, Envelope, Session

from carriers.clock import ManualClock
from carriers.delhivery import sandbox as delhivery_sandbox
from carriers.sandbox import SandboxControl
from gateway.app import create_app
from gateway.ops.wiring import OPS_WORKER
from gateway.portal.confirm import ConfirmationSender
from tests.integration.conftest import START, System, sandbox_settings, seed_merchant
from tests.integration.test_ops_pickups import Inbox
from tests.integration.test_portal_flow import TOKEN, rel, seed_order, submit

SHIPPED = Path(__file__).resolve().parents[2] / "config"
CODE = re.compile(r"\b(\d{6})\b")


class FlakyInbox(Inbox):
    """Keeps what it is given; answers "try later" to the next `refuse` messages."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 Try again later"
        return await super().handle_DATA(server, session, envelope)


@dataclass
class Portal:
    system: System
    inbox: FlakyInbox
    texts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def client(self) -> Any:
        return self.system.client

    @property
    def mid(self) -> str:
        return self.system.merchant.id

    @property
    def confirmations(self) -> ConfirmationSender:
        sender = self.system.app[OPS_WORKER].deps.confirmations
        assert sender is not None
        return sender

    def advance(self, seconds: float) -> None:
        self.system.clock.advance(timedelta(seconds=seconds))

    async def identify(self, contact: str = "ASHA@EXAMPLE.COM", order_id: str = "ORD-1001") -> str:
        """Where the identify form sends the customer (a relative URL)."""
        page = await self.client.get(f"/r/{self.mid}?lang=en")
        token = TOKEN.search(await page.text()).group(1)  # type: ignore[union-attr]
        resp = await self.client.post(f"/r/{self.mid}/identify", allow_redirects=False, data={
            "form_token": token, "order_id": order_id, "contact": contact, "lang": "en"})
        assert resp.status == 303
        return rel(resp.headers["Location"])

    async def post_code(self, url: str, code: str) -> str:
        html = await (await self.client.get(url)).text()
        token = re.search(r'name="form_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
        resp = await self.client.post(url.split("?")[0], allow_redirects=False,
                                      data={"form_token": token, "code": code, "lang": "en"})
        assert resp.status == 303
        return rel(resp.headers["Location"])

    async def resend(self, url: str) -> str:
        html = await (await self.client.get(url)).text()
        token = re.search(r'name="form_token" value="([^"]+)"', html.split('id="resend-title"')[1]).group(1)  # type: ignore[union-attr]
        resp = await self.client.post(url.split("?")[0] + "/resend", allow_redirects=False,
                                      data={"form_token": token, "lang": "en"})
        assert resp.status == 303
        return rel(resp.headers["Location"])

    async def mail(self, count: int) -> EmailMessage:
        """The `count`-th message the SMTP server has received (waits briefly for it)."""
        for _ in range(100):
            if len(self.inbox.messages) >= count:
                return self.inbox.messages[count - 1]
            await asyncio.sleep(0.02)
        raise AssertionError(f"only {len(self.inbox.messages)} mails arrived, wanted {count}")


def body_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def code_in(message: EmailMessage) -> str:
    found = CODE.search(body_of(message))
    assert found, body_of(message)
    return found.group(1)


def config_dir(tmp_path: Path, verify: str, approval: str | None) -> Path:
    """The shipped config (without the bulky serviceability tables), with the merchant's portal and policy."""
    for path in SHIPPED.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    shutil.copytree(SHIPPED / "rules", tmp_path / "rules")
    reasons = yaml.safe_load((SHIPPED / "return_reasons.yaml").read_text(encoding="utf-8"))
    reasons["merchants"] = {"Acme Fashion": {"verify": verify}}
    (tmp_path / "return_reasons.yaml").write_text(yaml.safe_dump(reasons, allow_unicode=True), encoding="utf-8")
    if approval:
        policy = yaml.safe_load((SHIPPED / "policy.yaml").read_text(encoding="utf-8"))
        policy.setdefault("merchants", {})["Acme Fashion"] = {"approval": approval}
        (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
    return tmp_path


MakePortal = Callable[..., Awaitable[Portal]]


@pytest.fixture
async def make_portal(redis_url: str, redis: aioredis.Redis, key_prefix: str, aiohttp_server: Any,
                      aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[MakePortal]:
    inbox = FlakyInbox()
    smtp = await asyncio.get_running_loop().create_server(lambda: SMTP(inbox), "127.0.0.1", 0)
    smtp_port = int(smtp.sockets[0].getsockname()[1])

    async def make(verify: str = "email_or_sms", approval: str | None = None, sms: bool = True) -> Portal:
        texts: list[dict[str, Any]] = []

        async def provider(request: web.Request) -> web.Response:
            texts.append(await request.json())
            return web.json_response({"status": "queued"})

        sms_app = web.Application()
        sms_app.router.add_post("/sms", provider)
        sms_server = await aiohttp_server(sms_app)
        clock = ManualClock(START)
        control = SandboxControl(clock)
        sandbox: TestServer = await aiohttp_server(delhivery_sandbox.make_app(control))
        ops: dict[str, Any] = {"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "tick_s": 3600,
                               "mail_from": "Acme returns <returns@acme.example>"}
        if sms:
            ops["sms_url"] = str(sms_server.make_url("/sms"))
        settings = sandbox_settings(str(sandbox.make_url("")).rstrip("/"), key_prefix,
                                    config_dir=config_dir(tmp_path, verify, approval), ops=ops)
        app = create_app(settings, redis_url, clock=clock, run_poller=True)
        client = await aiohttp_client(app)
        merchant, key = await seed_merchant(redis, key_prefix, clock)
        system = System(client, control, clock, key, merchant, redis, key_prefix, app)
        await seed_order(system)
        return Portal(system, inbox, texts)

    yield make
    smtp.close()
    await smtp.wait_closed()


async def test_code_goes_to_the_order_email_and_opens_the_portal(make_portal: MakePortal) -> None:
    portal = await make_portal()
    url = await portal.identify("ASHA@EXAMPLE.COM")
    assert "/code/" in url and "/s/" not in url
    page = await portal.client.get(url)
    html = await page.text()
    assert page.status == 200 and "a***@example.com" in html and "asha@example.com" not in html
    message = await portal.mail(1)
    assert message["To"] == "asha@example.com"
    assert "Acme Fashion" in message["Subject"]
    code = code_in(message)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    refused = await portal.post_code(url, wrong)
    assert refused.endswith("error=wrong")
    shown = await portal.client.get(refused)
    assert shown.status == 422 and "This code is not right or no longer valid" in await shown.text()
    opened = await portal.post_code(url, f"{code[:3]} {code[3:]}")
    assert "/s/" in opened
    assert (await portal.client.get(opened)).status == 200
    # The code is used up: its page sends the customer back to identify.
    gone = await portal.client.get(url, allow_redirects=False)
    assert gone.status == 303 and gone.headers["Location"].endswith("error=expired")


async def test_five_wrong_codes_burn_it_and_all_refusals_look_alike(make_portal: MakePortal) -> None:
    portal = await make_portal()
    url = await portal.identify()
    code = code_in(await portal.mail(1))
    wrong = f"{(int(code) + 7) % 1_000_000:06d}"
    answers = {await portal.post_code(url, wrong) for _ in range(5)}
    burnt = await portal.post_code(url, code)
    assert answers == {burnt}
    assert burnt.endswith("error=wrong")
    assert "/s/" not in burnt


async def test_an_expired_code_is_refused(make_portal: MakePortal) -> None:
    portal = await make_portal()
    url = await portal.identify()
    code = code_in(await portal.mail(1))
    portal.advance(10 * 60 + 1)
    assert (await portal.post_code(url, code)).endswith("error=wrong")


async def test_resends_wait_30_seconds_and_stop_after_three(make_portal: MakePortal) -> None:
    portal = await make_portal()
    url = await portal.identify()
    first = code_in(await portal.mail(1))
    assert (await portal.resend(url)).endswith("error=wait")
    codes = [first]
    for n in range(3):
        portal.advance(31)
        after = await portal.resend(url)
        assert after.endswith("sent=1"), after
        assert "We sent you a new code" in await (await portal.client.get(after)).text()
        codes.append(code_in(await portal.mail(n + 2)))
    portal.advance(31)
    assert (await portal.resend(url)).endswith("error=limit")
    assert len(portal.inbox.messages) == 4
    if codes[0] != codes[-1]:  # one in a million they are equal
        assert (await portal.post_code(url, codes[0])).endswith("error=wrong")
    assert "/s/" in await portal.post_code(url, codes[-1])


async def test_codes_per_order_are_capped_per_hour(make_portal: MakePortal) -> None:
    portal = await make_portal()
    for _ in range(6):
        assert "/code/" in await portal.identify()
    assert (await portal.identify()).endswith("error=code_limit")
    shown = await portal.client.get(f"/r/{portal.mid}?lang=en&error=code_limit")
    assert "No more codes can be sent for this order right now" in await shown.text()
    portal.advance(3600)
    assert "/code/" in await portal.identify()


async def test_a_typed_phone_gets_the_code_by_sms_on_the_order_phone(make_portal: MakePortal) -> None:
    portal = await make_portal()
    url = await portal.identify("098000 00000")
    assert "+91 ******0000" in await (await portal.client.get(url)).text()
    assert [t["to"] for t in portal.texts] == ["+919800000000"]
    code = CODE.search(portal.texts[0]["text"]).group(1)  # type: ignore[union-attr]
    assert not portal.inbox.messages
    assert "/s/" in await portal.post_code(url, code)


async def test_sms_only_merchant_without_a_provider_is_told_no_code_can_be_sent(make_portal: MakePortal) -> None:
    portal = await make_portal(verify="sms", sms=False)
    assert (await portal.identify()).endswith("error=no_channel")
    assert (await portal.identify("nobody@example.com")).endswith("error=not_found")


async def test_confirmation_arrives_after_submit_with_a_working_tracking_link(make_portal: MakePortal) -> None:
    portal = await make_portal(verify="none")
    url = await portal.identify()
    assert "/s/" in url
    resp = await submit(portal.system, url, qty_1="2", reason_1="quality", res_1="refund")
    assert resp.status == 303, await resp.text()
    assert not portal.inbox.messages  # nothing is sent inside the request
    assert await portal.confirmations.drain() == 1
    message = await portal.mail(1)
    body = body_of(message)
    ret = (await (await portal.client.get("/v1/returns", headers=portal.system.auth)).json())["data"][0]
    assert message["To"] == "asha@example.com"
    assert ret["id"] in body and "2 x Cotton T-shirt" in body and "is booked" in body
    assert re.search(r"on \w{3}, \w{3} \d{1,2}, 2026", body), body
    link = re.search(r"https?://\S+/t/\S+", body).group(0)  # type: ignore[union-attr]
    page = await portal.client.get(rel(link))
    assert page.status == 200 and "ORD-1001" in await page.text()
    assert [t["to"] for t in portal.texts] == ["+919800000000"] and ret["id"] in portal.texts[0]["text"]
    assert await portal.confirmations.drain() == 0


async def test_a_failed_send_is_retried_and_only_on_the_channel_that_failed(make_portal: MakePortal) -> None:
    portal = await make_portal(verify="none")
    portal.inbox.refuse = 1
    resp = await submit(portal.system, await portal.identify(), qty_1="1", reason_1="quality", res_1="refund")
    assert resp.status == 303
    assert await portal.confirmations.drain() == 1
    assert not portal.inbox.messages and len(portal.texts) == 1
    assert await portal.confirmations.drain() == 0  # not due again before its backoff
    portal.advance(31)
    assert await portal.confirmations.drain() == 1
    assert "is booked" in body_of(await portal.mail(1))
    assert len(portal.texts) == 1
    due = await portal.system.redis.zcard(f"{portal.system.prefix}portal:confirm:due")
    assert due == 0


async def test_a_return_waiting_for_approval_says_so_in_the_customers_language(make_portal: MakePortal) -> None:
    portal = await make_portal(verify="none", approval="review")
    url = await portal.identify()
    resp = await submit(portal.system, url.replace("lang=en", "lang=hi"), qty_1="1", reason_1="quality",
                        res_1="refund", lang="hi")
    assert resp.status == 303, await resp.text()
    assert "lang=hi" in resp.headers["Location"]
    await portal.confirmations.drain()
    message = await portal.mail(1)
    body = body_of(message)
    assert "स्वीकृति की प्रतीक्षा में" in body, body
    assert "lang=hi" in body
