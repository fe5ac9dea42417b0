"""The portal's pure parts: eligibility per order line, resolutions offered, photo re-encoding."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from gateway.portal.config import for_merchant
from gateway.portal.eligibility import eligibility
from gateway.portal.orders import Order
from gateway.portal.photos import MAX_PHOTO_BYTES, PhotoRefused, reencode
from gateway.rules.policy import Policy

CONFIG = for_merchant(Path(__file__).resolve().parents[2] / "config", "mer_x", "X")


def order(**overrides: object) -> Order:
    doc = {"order_id": "O-1", "customer_name": "A", "customer_email": "a@example.com", "merchant_id": "m",
           "updated_at": datetime(2026, 11, 1, tzinfo=UTC), "delivered_at": datetime(2026, 10, 20, tzinfo=UTC),
           "items": [{"sku": "SH", "name": "Shoe", "quantity": 2, "price": "2499.00", "category": "footwear",
                      "variants": ["SH-2"]},
                     {"sku": "SOCK", "name": "Socks", "quantity": 1, "price": "99.00", "category": "apparel"},
                     {"sku": "BRA", "name": "Bra", "quantity": 1, "price": "999.00", "category": "innerwear"}]}
    doc.update(overrides)
    return Order.model_validate(doc)


def test_each_line_says_what_the_policy_allows() -> None:
    policy = Policy(window_days=30, non_returnable_categories=["innerwear"])
    shoe, sock, bra = eligibility(order(), {"SH": 1}, policy, CONFIG, datetime(2026, 11, 2, tzinfo=UTC))
    assert shoe.is_eligible and shoe.left == 1 and str(shoe.until) == "2026-11-19"
    assert shoe.resolutions == ("refund", "exchange", "credit")
    assert sock.resolutions == ("keep",)  # worth less than shipping it back
    assert bra.why == "category"
    late = eligibility(order(), {}, policy, CONFIG, datetime(2026, 12, 1, tzinfo=UTC))
    assert late[0].why == "window"
    done = eligibility(order(), {"SH": 2}, policy, CONFIG, datetime(2026, 11, 2, tzinfo=UTC))
    assert done[0].why == "all_returned"


def test_photos_are_reencoded_without_metadata() -> None:
    raw = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    Image.new("RGB", (3000, 2000), "red").save(raw, "JPEG", exif=exif)
    clean = Image.open(io.BytesIO(reencode(raw.getvalue())))
    assert clean.format == "JPEG" and max(clean.size) == 1600 and not clean.getexif()


@pytest.mark.parametrize(("data", "why"), [(b"GIF89a" + b"0" * 50, "not_image"), (b"hello", "not_image"),
                                           (b"0" * (MAX_PHOTO_BYTES + 1), "too_big")])
def test_bad_uploads_are_refused(data: bytes, why: str) -> None:
    with pytest.raises(PhotoRefused) as refused:
        reencode(data)
    assert refused.value.why == why
