"""Idempotency keys: the same key and body give the same answer and book once.

A key is claimed with SET NX before any work; requests that find it claimed wait for the
first one's answer and repeat it. A key used with another body is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from gateway.store.keys import Keys

_WAIT_STEP_S = 0.05


@dataclass(frozen=True)
class Replay:
    """A stored answer to repeat."""

    status: int
    body: dict[str, Any]


class KeyReusedWithOtherBody(Exception):
    """The key was first used with a different request body."""


class KeyStillInProgress(Exception):
    """The first request with this key has not finished in time."""


def body_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


class IdempotencyStore:
    def __init__(self, redis: aioredis.Redis, keys: Keys, ttl_s: int, wait_s: float = 30.0) -> None:
        self.redis = redis
        self.keys = keys
        self.ttl_s = ttl_s
        self.wait_s = wait_s

    async def begin(self, mid: str, key: str, digest: str) -> Replay | None:
        """None when this request owns the key and must do the work; else the answer to repeat.

        Raises: KeyReusedWithOtherBody, KeyStillInProgress.
        """
        rkey = self.keys.idempotency(mid, key)
        claimed = await self.redis.set(rkey, json.dumps({"hash": digest, "state": "pending"}),
                                       nx=True, ex=self.ttl_s)
        if claimed:
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        while True:
            raw = await self.redis.get(rkey)
            if raw is None:
                # The owner gave up (its request failed); this request may take the key over.
                return await self.begin(mid, key, digest)
            record = json.loads(raw)
            if record["hash"] != digest:
                raise KeyReusedWithOtherBody(key)
            if record["state"] == "done":
                return Replay(record["status"], record["body"])
            if loop.time() > deadline:
                raise KeyStillInProgress(key)
            await asyncio.sleep(_WAIT_STEP_S)

    async def finish(self, mid: str, key: str, digest: str, status: int, body: dict[str, Any]) -> None:
        record = {"hash": digest, "state": "done", "status": status, "body": body}
        await self.redis.set(self.keys.idempotency(mid, key), json.dumps(record), ex=self.ttl_s)

    async def abandon(self, mid: str, key: str) -> None:
        """Forget a key whose request failed, so that a retry does the work again."""
        await self.redis.delete(self.keys.idempotency(mid, key))
