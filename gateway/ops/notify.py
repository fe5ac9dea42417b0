"""Customer notifications through pluggable channels: email over SMTP, SMS and WhatsApp over HTTP.

Templates are text files, `config/notifications/<merchant id or default>/<lang>/<name>.txt`,
rendered by a sandboxed Jinja; the first line is `Subject: ...`. The most specific file wins:
the merchant's in the customer's language, the merchant's in English, the default in the
customer's language, the default in English. Every link leads to the tracking page, where
the customer picks a new date or fixes the phone or the address.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiohttp
import aiosmtplib
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from carriers.base import Contact
from gateway.metrics import Metrics
from gateway.models import Merchant, Return
from gateway.pages import texts
from gateway.pages.i18n import DEFAULT_LANGUAGE, LANGUAGES, translations
from gateway.settings import OpsSettings

log = logging.getLogger(__name__)
SHIPPED_TEMPLATES = Path(__file__).resolve().parents[2] / "config" / "notifications"


class NotifyFailed(Exception):
    """A channel could not hand the message over (SMTP or provider error, timeout)."""


@dataclass(frozen=True)
class Message:
    subject: str
    text: str


class Channel(Protocol):
    @property
    def name(self) -> str: ...

    def reaches(self, contact: Contact) -> bool: ...

    async def send(self, contact: Contact, message: Message) -> None: ...


@dataclass(frozen=True)
class Mailer:
    """Plain SMTP through aiosmtplib; also used by the email alert sink."""

    settings: OpsSettings

    @property
    def is_configured(self) -> bool:
        return bool(self.settings.smtp_host)

    async def send(self, to: list[str], subject: str, body: str, html: str = "") -> None:
        """`html`, when given, goes as the alternative to the text. Raises: NotifyFailed (refused, unreachable)."""
        s = self.settings
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = s.mail_from, ", ".join(to), subject
        msg.set_content(body)
        if html:
            msg.add_alternative(html, subtype="html")
        try:
            await aiosmtplib.send(msg, hostname=s.smtp_host, port=s.smtp_port, username=s.smtp_username or None,
                                  password=s.smtp_password.get_secret_value() or None,
                                  start_tls=s.smtp_starttls, timeout=s.smtp_timeout_s)
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise NotifyFailed(f"smtp: {exc}") from exc


@dataclass(frozen=True)
class EmailChannel:
    mailer: Mailer
    name: str = "email"

    def reaches(self, contact: Contact) -> bool:
        return self.mailer.is_configured and bool(contact.email)

    async def send(self, contact: Contact, message: Message) -> None:
        assert contact.email is not None
        await self.mailer.send([contact.email], message.subject, message.text)


@dataclass(frozen=True)
class HttpChannel:
    """A generic SMS or WhatsApp provider: POST {"to", "text", "channel"} as JSON with a bearer token."""

    name: str
    url: str
    token: str
    http: aiohttp.ClientSession
    timeout_s: float = 10.0

    def reaches(self, contact: Contact) -> bool:
        return bool(self.url and contact.phone)

    async def send(self, contact: Contact, message: Message) -> None:
        body = {"to": contact.phone, "text": message.text, "channel": self.name}
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with self.http.post(self.url, json=body, headers=headers,
                                      timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as resp:
                if resp.status >= 300:
                    raise NotifyFailed(f"{self.name}: provider answered {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise NotifyFailed(f"{self.name}: {exc}") from exc


@dataclass
class Templates:
    """Notification templates per merchant and language, looked up in `roots` in order."""

    roots: list[Path]
    env: SandboxedEnvironment = field(default_factory=lambda: SandboxedEnvironment(undefined=StrictUndefined))

    def find(self, merchant_id: str, lang: str, name: str) -> Path | None:
        for root in self.roots:
            for owner in (merchant_id, "default"):
                for language in dict.fromkeys((lang, DEFAULT_LANGUAGE)):
                    path = root / owner / language / f"{name}.txt"
                    if path.is_file():
                        return path
        return None

    def render(self, merchant_id: str, lang: str, name: str, values: dict[str, object]) -> Message:
        """Raises: NotifyFailed when no template exists."""
        path = self.find(merchant_id, lang, name)
        if path is None:
            raise NotifyFailed(f"no template {name!r} for {merchant_id}/{lang}")
        rendered = self.env.from_string(path.read_text(encoding="utf-8")).render(values)
        first, _, rest = rendered.partition("\n")
        subject = first.removeprefix("Subject:").strip() if first.startswith("Subject:") else ""
        return Message(subject, rest.lstrip("\n") if subject else rendered)


def language_of(ret: Return) -> str:
    lang = ret.requested.metadata.get("language", "")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Notifier:
    channels: list[Channel]
    templates: Templates
    metrics: Metrics
    public_url: str

    def values(self, ret: Return, merchant: Merchant, lang: str) -> dict[str, object]:
        base = merchant.public_base(self.public_url)
        reason = texts.REASONS[ret.state.reason] if ret.state.reason else ""
        return {"customer_name": ret.requested.customer.name, "merchant_name": merchant.display_name or merchant.name,
                "order_id": ret.order_id, "reason": translations(lang).gettext(reason) if reason else "",
                "tracking_url": f"{base}/t/{ret.tracking_token}?lang={lang}#actions",
                "support_email": merchant.support_email, "support_phone": merchant.support_phone,
                "attempts": ret.state.pickup_attempts}

    async def notify(self, ret: Return, merchant: Merchant, name: str) -> list[str]:
        """Send `name` on every channel that reaches the customer; the channels that took it.

        Raises: NotifyFailed for a tracking (Backhaul knows no customer) or a missing template.
        """
        if ret.request is None:
            raise NotifyFailed("a tracking has no customer to notify")
        customer, lang = ret.request.customer, language_of(ret)
        message = self.templates.render(merchant.id, lang, name, self.values(ret, merchant, lang))
        sent = []
        for channel in self.channels:
            if not channel.reaches(customer):
                continue
            try:
                await channel.send(customer, message)
            except NotifyFailed as exc:
                self.metrics.notifications.labels(channel.name, "failed").inc()
                log.warning("customer notification failed", extra={"return_id": ret.id, "error": str(exc)})
                continue
            self.metrics.notifications.labels(channel.name, "sent").inc()
            sent.append(channel.name)
        return sent
