"""Finding a return by its page token, with guessing rate-limited per client IP.

The page's own Redis keys (built here until they join `gateway/store/keys.py`):

======================================  ======  ============================================  =======
key                                     type    what                                          TTL
======================================  ======  ============================================  =======
<p>page:miss:<ip>:<minute>              string  token lookups that found nothing, this minute  120 s
<p>{<mid>}:page:form:<nonce>            string  a form token already used ("<action>")       its life
<p>{<mid>}:page:clicks                  hash    recommendation id -> clicks                   none
======================================  ======  ============================================  =======
"""

from __future__ import annotations

import re

from aiohttp import web

from gateway import keys
from gateway.models import Return
from gateway.store.keys import Keys

MISSES_PER_MINUTE = 20
# A miss counter outlives its minute a little, so a window edge cannot reset it early.
_MISS_TTL_S = 120
_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{16,64}$")


class TokenNotFound(Exception):
    """No return has this token (never issued, or rotated away)."""


class TooManyGuesses(Exception):
    """This client looked up too many unknown tokens in the last minute."""


def store_keys(request: web.Request) -> Keys:
    return Keys(request.app[keys.SETTINGS].key_prefix)


def miss_key(request: web.Request, minute: int) -> str:
    return store_keys(request).page_misses(request.remote or "unknown", minute)


def form_key(request: web.Request, mid: str, nonce: str) -> str:
    return store_keys(request).page_form(mid, nonce)


async def return_for(request: web.Request) -> Return:
    """The return of `/t/{token}`. Raises: TooManyGuesses, TokenNotFound."""
    redis = request.app[keys.REDIS]
    minute = int(request.app[keys.CLOCK].now().timestamp() // 60)
    key = miss_key(request, minute)
    misses = int(await redis.get(key) or 0)
    if misses >= MISSES_PER_MINUTE:
        raise TooManyGuesses
    token = request.match_info["token"]
    ret = await request.app[keys.RETURNS].by_token(token) if _TOKEN.match(token) else None
    if ret is None:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, _MISS_TTL_S)
            await pipe.execute()
        raise TokenNotFound
    return ret
