"""Signing per the Standard Webhooks spec (https://www.standardwebhooks.com), with its reference library."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from math import floor

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
_SECRET_BYTES = 24


def new_secret() -> str:
    """A signing secret as the spec writes it: "whsec_" and base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


def signature(secret: str, msg_id: str, at: datetime, body: str) -> str:
    """`v1,<base64 HMAC-SHA256 of "<msg_id>.<unix seconds>.<body>">`."""
    return str(Webhook(secret).sign(msg_id, at, body))


def signed_headers(secret: str, msg_id: str, at: datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers plus the content type."""
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(floor(at.timestamp())),
        "webhook-signature": signature(secret, msg_id, at, body),
    }
