"""Where a one-time code goes and how: the contact ON THE ORDER, never what the customer typed.

The customer proves they can read the order's mailbox or phone; sending to the typed address
would prove nothing. `verify` (`config/return_reasons.yaml`) chooses the channel: `email`,
`sms`, or `email_or_sms` — the kind the customer typed first, the other when the first cannot
be used (no such contact on the order, or no SMS provider configured).
"""

from __future__ import annotations

import phonenumbers
from aiohttp import web

from carriers.base import Contact
from gateway import keys
from gateway.models import Merchant
from gateway.ops.notify import Mailer, NotifyFailed
from gateway.ops.wiring import notifier_for
from gateway.portal.codes import CODE_TTL_S, Channel, Recipient
from gateway.portal.orders import Order

TEMPLATE = "portal_code"


def mask_email(address: str) -> str:
    """`r***@example.com`: enough for the customer to recognise, too little to learn the address."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_phone(e164: str) -> str:
    """`+91 ******3210`: the country code and the last four digits."""
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return "*" * max(0, len(e164) - 4) + e164[-4:]
    national = str(parsed.national_number)
    return f"+{parsed.country_code} " + "*" * max(0, len(national) - 4) + national[-4:]


def masked(to: Recipient) -> str:
    return mask_email(to.address) if to.channel == "email" else mask_phone(to.address)


def recipient_for(mode: str, order: Order, typed: str, lang: str, has_email: bool, has_sms: bool) -> Recipient | None:
    """The channel and the order's own address for a code, None when no configured channel reaches it."""
    usable: dict[Channel, str] = {}
    if has_email and order.customer_email:
        usable["email"] = order.customer_email
    if has_sms and order.customer_phone:
        usable["sms"] = order.customer_phone
    by_mode: dict[str, list[Channel]] = {"email": ["email"], "sms": ["sms"]}
    preferred = by_mode.get(mode) or (["email", "sms"] if "@" in typed else ["sms", "email"])
    return next((Recipient(c, usable[c], order.customer_name, lang) for c in preferred if c in usable), None)


def channels_of(app: web.Application) -> tuple[bool, bool]:
    """Whether email (SMTP configured) and SMS (a provider URL) can be sent at all."""
    ops = app[keys.SETTINGS].ops
    return Mailer(ops).is_configured, bool(ops.sms_url)


async def send_code(app: web.Application, merchant: Merchant, order_id: str, to: Recipient, code: str) -> None:
    """Render `portal_code` in the customer's language and hand it to the channel. Raises: NotifyFailed."""
    notifier = notifier_for(app)
    values: dict[str, object] = {"code": code, "minutes": CODE_TTL_S // 60, "customer_name": to.name,
                                 "merchant_name": merchant.display_name or merchant.name, "order_id": order_id}
    message = notifier.templates.render(merchant.id, to.lang, TEMPLATE, values)
    counter = app[keys.METRICS].notifications
    try:
        if to.channel == "email":
            await Mailer(app[keys.SETTINGS].ops).send([to.address], message.subject, message.text)
        else:
            sms = next((c for c in notifier.channels if c.name == "sms"), None)
            if sms is None:
                raise NotifyFailed("sms: no provider configured")
            await sms.send(Contact(name=to.name, phone=to.address), message)
    except NotifyFailed:
        counter.labels(to.channel, "failed").inc()
        raise
    counter.labels(to.channel, "sent").inc()
