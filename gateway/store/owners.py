"""Which merchant a return belongs to, from its id alone (the ops console's return page).

`insert()` writes `<p>return-owner:<rid>`; a return inserted before that key existed is found by
scanning for its document key, and the answer is written back so the scan happens once.
"""

from __future__ import annotations

import re

import redis.asyncio as aioredis

from gateway.store.keys import Keys
from gateway.store.server import text

# Ids are `<prefix>_<base32>`; anything else could smuggle glob characters into the scan.
_RETURN_ID = re.compile(r"^[a-z]{2,8}_[0-9a-z]{6,40}$")


async def owner_of(redis: aioredis.Redis, keys: Keys, rid: str) -> str | None:
    """The merchant id of return `rid`, or None when no such return exists."""
    if not _RETURN_ID.match(rid):
        return None
    found = text(await redis.get(keys.return_owner(rid)))
    if found:
        return found
    suffix = f":return:{rid}"
    async for raw in redis.scan_iter(match=f"{keys.prefix}{{*}}{suffix}", count=1000):
        key = text(raw)
        mid = key[len(keys.prefix) + 1:-len(suffix) - 1]
        if key == keys.return_doc(mid, rid):
            await redis.set(keys.return_owner(rid), mid)
            return mid
    return None
