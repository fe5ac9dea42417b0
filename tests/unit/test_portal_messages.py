"""The portal's customer messages (code, return confirmation) exist and render in every page language."""

from __future__ import annotations

import pytest

from gateway.ops.notify import SHIPPED_TEMPLATES, Templates
from gateway.pages.i18n import LANGUAGES

CONFIRMATION = {"customer_name": "Asha", "merchant_name": "Acme", "order_id": "ORD-9", "return_id": "ret_123",
                "pickup_date": "Tue, Nov 3, 2026", "tracking_url": "https://x.example/t/tok?lang=en",
                "items": [{"name": "Cotton T-shirt", "quantity": 2, "sku": "TS-M"}], "support_email": "h@x.example",
                "support_phone": ""}


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_code_message_in_every_language(lang: str) -> None:
    templates = Templates([SHIPPED_TEMPLATES])
    assert templates.find("mer_x", lang, "portal_code") == SHIPPED_TEMPLATES / "default" / lang / "portal_code.txt"
    message = templates.render("mer_x", lang, "portal_code", {"code": "042917", "minutes": 10, "order_id": "ORD-9",
                                                               "merchant_name": "Acme", "customer_name": "Asha"})
    assert message.subject and "042917" in message.text and "10" in message.text and "ORD-9" in message.text
    assert len(message.text) < 320  # two SMS parts at most


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_confirmation_in_every_language_and_stage(lang: str) -> None:
    templates = Templates([SHIPPED_TEMPLATES])
    assert templates.find("mer_x", lang, "return_created") == (
        SHIPPED_TEMPLATES / "default" / lang / "return_created.txt")
    texts = set()
    for stage in ("review", "booked", "requested"):
        message = templates.render("mer_x", lang, "return_created", {**CONFIRMATION, "stage": stage})
        assert message.subject
        for part in ("ret_123", "ORD-9", "2 x Cotton T-shirt", "https://x.example/t/tok?lang=en"):
            assert part in message.text, (stage, part)
        texts.add(message.text)
    assert len(texts) == 3
