"""Reading the photos a customer attached to a return (written by the portal's submit, gateway/portal/submit.py).

`{<mid>}:return:<rid>:photos` maps photo id -> base64 of a JPEG the portal re-encoded (no
EXIF). Which line a photo belongs to is in the return's `request.lines[].photos`.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

import redis.asyncio as aioredis

from gateway.models import Return
from gateway.store.keys import Keys
from gateway.store.server import text

PHOTO_ID = re.compile(r"^ph_[0-9a-f]{16}$")


@dataclass(frozen=True)
class PhotoInfo:
    """One stored photo: its id, the line it was attached to (None if no line names it) and its size."""

    id: str
    sku: str | None
    line: int | None
    bytes: int


def _decoded_size(encoded: str) -> int:
    """The byte length of base64 text, without decoding it."""
    return len(encoded) * 3 // 4 - encoded[-2:].count("=")


class PhotoStore:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def list(self, ret: Return) -> list[PhotoInfo]:
        """Every stored photo of a return, in the order of its lines, then any no line names."""
        stored = {text(k): text(v) for k, v in
                  (await self.redis.hgetall(self.keys.photos(ret.merchant_id, ret.id))).items()}
        lines = ret.request.lines if ret.request else []
        out: list[PhotoInfo] = []
        for index, line in enumerate(lines):
            out.extend(PhotoInfo(pid, line.sku, index, _decoded_size(stored.pop(pid)))
                       for pid in line.photos if pid in stored)
        out.extend(PhotoInfo(pid, None, None, _decoded_size(v)) for pid, v in sorted(stored.items()))
        return out

    async def get(self, mid: str, rid: str, pid: str) -> bytes | None:
        """The JPEG bytes, None for an unknown (or malformed) photo id."""
        if not PHOTO_ID.match(pid):
            return None
        raw = await self.redis.hget(self.keys.photos(mid, rid), pid)
        if raw is None:
            return None
        try:
            return base64.b64decode(text(raw), validate=True)
        except (binascii.Error, ValueError):
            return None
