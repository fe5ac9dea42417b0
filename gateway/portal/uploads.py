"""Reading the portal's multipart form with limits, streaming: the app's small body limit stays for the API.

Text fields are cut at `MAX_FIELD_CHARS`; a file part bigger than a photo may be is read to
its end (so the browser gets our answer, not a reset) but kept as a marker, and refused.
"""

from __future__ import annotations

from aiohttp import BodyPartReader, web

from gateway.portal.photos import MAX_PHOTO_BYTES, PhotoRefused

MAX_FIELD_CHARS = 2000
MAX_PARTS = 400
MAX_TOTAL_BYTES = 16 * 1024 * 1024
_CHUNK = 64 * 1024


async def _file(part: BodyPartReader, budget: int) -> tuple[bytes, int]:
    data, size = bytearray(), 0
    while chunk := await part.read_chunk(_CHUNK):
        size += len(chunk)
        if size > budget:
            raise PhotoRefused("too_big")
        if size <= MAX_PHOTO_BYTES + 1:
            data += chunk
    return bytes(data), size


async def read_form(request: web.Request) -> tuple[dict[str, str], dict[str, list[bytes]]]:
    """Text fields and non-empty files by name. Raises: PhotoRefused('too_big') past the limits."""
    fields: dict[str, str] = {}
    files: dict[str, list[bytes]] = {}
    if not request.content_type.startswith("multipart/"):
        posted = await request.post()
        return {k: str(v)[:MAX_FIELD_CHARS] for k, v in posted.items() if isinstance(v, str)}, files
    reader = await request.multipart()
    total, parts = 0, 0
    while (part := await reader.next()) is not None:
        parts += 1
        if parts > MAX_PARTS or not isinstance(part, BodyPartReader) or not part.name:
            raise PhotoRefused("too_big")
        if part.filename is None:
            value = (await part.read_chunk(MAX_FIELD_CHARS * 4)).decode("utf-8", "replace")[:MAX_FIELD_CHARS]
            while await part.read_chunk(_CHUNK):
                pass
            fields[part.name] = value
            continue
        data, size = await _file(part, MAX_TOTAL_BYTES - total)
        total += size
        if size > MAX_PHOTO_BYTES:
            raise PhotoRefused("too_big")
        if data:
            files.setdefault(part.name, []).append(data)
    return fields, files
