"""Customer photos: size and type checked, decoded and re-encoded (which drops EXIF and any payload).

Kept in Redis with the return, `{<mid>}:return:<rid>:photos` (photo id -> base64 JPEG): each
photo at most `MAX_PHOTO_BYTES` in, at most `MAX_EDGE_PX` on its long edge out, about
100-400 kB, so a return's photos stay small next to its document.
"""

from __future__ import annotations

import io
import secrets

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PHOTO_BYTES = 2 * 1024 * 1024
MAX_EDGE_PX = 1600
MAX_PIXELS = 40_000_000
ACCEPTED = frozenset({"JPEG", "PNG", "WEBP"})


class PhotoRefused(Exception):
    """The upload is too big, not an image, or an image type we do not take."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def reencode(data: bytes) -> bytes:
    """A clean JPEG of the upload. Raises: PhotoRefused('too_big' or 'not_image')."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRefused("too_big")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ACCEPTED or probe.width * probe.height > MAX_PIXELS:
                raise PhotoRefused("not_image")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            upright = ImageOps.exif_transpose(image) or image
            rgb = upright.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise PhotoRefused("not_image") from exc
    rgb.thumbnail((MAX_EDGE_PX, MAX_EDGE_PX))
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def new_photo_id() -> str:
    return "ph_" + secrets.token_hex(8)
