"""Where a portal one-time code goes: the order's own contact, on the channel `verify` allows, masked on the page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.portal.code_delivery import mask_email, mask_phone, masked, recipient_for
from gateway.portal.codes import Recipient, new_code
from gateway.portal.orders import Order


def order(**overrides: Any) -> Order:
    values: dict[str, Any] = {"order_id": "ORD-1", "customer_name": "Ravi", "customer_email": "Ravi.K@Example.com",
                              "customer_phone": "98765 43210", "merchant_id": "mer_1",
                              "updated_at": datetime(2026, 11, 2, tzinfo=UTC),
                              "items": [{"sku": "A", "name": "Shoe", "quantity": 1, "price": "10.00"}]}
    values.update(overrides)
    return Order.model_validate(values)


def test_destinations_are_masked() -> None:
    assert mask_email("ravi.k@example.com") == "r***@example.com"
    assert mask_phone("+919876543210") == "+91 ******3210"
    assert mask_phone("+4520123456") == "+45 ****3456"
    assert masked(Recipient("sms", "+919876543210", "Ravi", "en")) == "+91 ******3210"


@pytest.mark.parametrize(("mode", "typed", "has_sms", "channel", "address"), [
    ("email", "+91 98765 43210", True, "email", "ravi.k@example.com"),
    ("sms", "RAVI.K@EXAMPLE.COM", True, "sms", "+919876543210"),
    ("email_or_sms", "RAVI.K@EXAMPLE.COM", True, "email", "ravi.k@example.com"),
    ("email_or_sms", "98765 43210", True, "sms", "+919876543210"),
    ("email_or_sms", "98765 43210", False, "email", "ravi.k@example.com"),
])
def test_the_code_goes_to_the_orders_own_contact(mode: str, typed: str, has_sms: bool, channel: str,
                                                 address: str) -> None:
    to = recipient_for(mode, order(), typed, "hi", True, has_sms)
    assert to == Recipient(channel, address, "Ravi", "hi")  # type: ignore[arg-type]


def test_no_channel_that_reaches_the_order_means_no_recipient() -> None:
    assert recipient_for("sms", order(), "98765 43210", "en", True, False) is None
    assert recipient_for("email", order(customer_email=""), "98765 43210", "en", True, True) is None


def test_codes_are_six_digits_and_vary() -> None:
    codes = {new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 150
