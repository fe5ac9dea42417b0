"""One-time codes for the portal's identify step: issued, guessed and re-sent, all counted in Redis.

A challenge is one hash, `{<mid>}:portal:code:<cid>`, whose unguessable id is in the code
page's URL. It keeps an HMAC of the code (never the code: six digits are quickly brute-forced
from a bare hash, not without the server's secret), the order it opens, the channel and the
masked destination, the guesses made on the current code and how often it was re-sent.
Expiry is judged by the app's clock (so tests and the demo can move time); the Redis TTL only
clears what nobody finishes. Every answer but "ok" is shown to the customer the same way, so
the code form tells an attacker nothing about which of the reasons applied.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, cast

import redis.asyncio as aioredis

from carriers.clock import Clock
from gateway.store.keys import Keys
from gateway.store.server import text

CODE_TTL_S = 10 * 60
MAX_TRIES = 5
RESEND_AFTER_S = 30
MAX_RESENDS = 3
# Codes of every challenge for one order in one clock hour: bounds both guessing and the
# messages a stranger who knows the order number and contact can make the customer receive.
SENDS_PER_ORDER_PER_HOUR = 6
# The key outlives the code a little, so the clock, not Redis, decides "expired".
_KEY_TTL_S = CODE_TTL_S + 60
_SENDS_TTL_S = 2 * 3600
_CID = re.compile(r"^[A-Za-z0-9_\-]{20,64}$")
_TRY = resources.files("gateway.store").joinpath("code_try.lua").read_text(encoding="utf-8")
_RENEW = resources.files("gateway.store").joinpath("code_renew.lua").read_text(encoding="utf-8")

Outcome = Literal["ok", "wrong", "burnt", "expired", "unknown"]
Channel = Literal["email", "sms"]


class ResendRefused(Exception):
    """No new code now: `why` is "wait" (too soon), "limit" (no resends left) or "unknown" (no challenge)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@dataclass(frozen=True)
class Recipient:
    """Who gets the codes of a challenge: the order's own address on one channel, in one language."""

    channel: Channel
    address: str
    name: str
    lang: str


@dataclass(frozen=True)
class Challenge:
    cid: str
    order_id: str
    to: Recipient
    sent_at: float
    resends: int


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


class CodeStore:
    """The challenges of every merchant; `secret` keys the HMAC of the codes."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, clock: Clock, secret: str) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock
        self._secret = secret.encode()
        self._try = redis.register_script(_TRY)
        self._renew = redis.register_script(_RENEW)

    def _digest(self, cid: str, code: str) -> str:
        return hmac.new(self._secret, f"{cid}:{code}".encode(), hashlib.sha256).hexdigest()

    def _now(self) -> float:
        return self.clock.now().timestamp()

    async def start(self, mid: str, order_id: str, to: Recipient) -> tuple[str, str]:
        """A new challenge for the order: its id and the code to send."""
        cid, code, now = secrets.token_urlsafe(24), new_code(), self._now()
        key = self.keys.portal_code(mid, cid)
        fields = {"digest": self._digest(cid, code), "order_id": order_id, "channel": to.channel,
                  "address": to.address, "name": to.name, "lang": to.lang, "tries": 0, "resends": 0,
                  "sent_at": now, "expires_at": now + CODE_TTL_S}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, _KEY_TTL_S)
            await pipe.execute()
        return cid, code

    async def get(self, mid: str, cid: str) -> Challenge | None:
        if not _CID.match(cid):
            return None
        raw = cast(dict[str, str], await self.redis.hgetall(self.keys.portal_code(mid, cid)))
        if not raw:
            return None
        channel: Channel = "sms" if raw["channel"] == "sms" else "email"
        to = Recipient(channel, raw["address"], raw["name"], raw["lang"])
        return Challenge(cid, raw["order_id"], to, float(raw["sent_at"]), int(raw["resends"]))

    async def guess(self, mid: str, cid: str, code: str) -> tuple[Outcome, str]:
        """What the guess gets, and the order id when it is "ok"; a right guess ends the challenge."""
        if not _CID.match(cid):
            return "unknown", ""
        key = self.keys.portal_code(mid, cid)
        reply = cast(list[Any], await self._try(keys=[key]))
        if not reply:
            return "unknown", ""
        tries, digest, expires_at, order_id = int(reply[0]), text(reply[1]), float(text(reply[2])), text(reply[3])
        if tries > MAX_TRIES:
            return "burnt", ""
        if self._now() >= expires_at:
            return "expired", ""
        if not hmac.compare_digest(digest, self._digest(cid, code.strip())):
            return "wrong", ""
        # Two right guesses racing: only the one that deletes the challenge opens a session.
        if not await self.redis.delete(key):
            return "unknown", ""
        return "ok", order_id

    async def renew(self, mid: str, cid: str) -> str:
        """A new code replacing the challenge's current one. Raises: ResendRefused."""
        if not _CID.match(cid):
            raise ResendRefused("unknown")
        code, now = new_code(), self._now()
        answer = text(await self._renew(keys=[self.keys.portal_code(mid, cid)],
                                        args=[now, RESEND_AFTER_S, MAX_RESENDS, self._digest(cid, code),
                                              now + CODE_TTL_S, _KEY_TTL_S]))
        if answer != "ok":
            raise ResendRefused(answer)
        return code

    async def drop(self, mid: str, cid: str) -> None:
        await self.redis.delete(self.keys.portal_code(mid, cid))

    def _sends_key(self, mid: str, order_id: str) -> str:
        return self.keys.portal_code_sends(mid, order_id, int(self._now() // 3600))

    async def may_send(self, mid: str, order_id: str) -> bool:
        """Whether the order's hourly allowance of codes has room for one more."""
        return int(await self.redis.get(self._sends_key(mid, order_id)) or 0) < SENDS_PER_ORDER_PER_HOUR

    async def count_send(self, mid: str, order_id: str) -> None:
        key = self._sends_key(mid, order_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, _SENDS_TTL_S)
            await pipe.execute()
