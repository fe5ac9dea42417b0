"""The `backhaul digest` commands: preview, send now, and who gets it when."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.analytics.digest_schedule import DigestSender
    from gateway.models import Merchant

Action = Callable[["DigestSender", "Merchant", argparse.Namespace], Awaitable[int]]


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from exc


async def _with_merchant(settings: Settings, url: str, args: argparse.Namespace, action: Action) -> int:
    from carriers.clock import SystemClock
    from gateway.analytics.digest_schedule import sender_for
    from gateway.metrics import Metrics
    from gateway.store.server import client_for

    redis = client_for(url)
    try:
        sender = sender_for(settings, redis, SystemClock(), Metrics())
        merchant = await sender.deps.merchants.get(args.merchant)
        if merchant is None:
            print(f"backhaul: no merchant {args.merchant}", file=sys.stderr)
            return 2
        return await action(sender, merchant, args)
    finally:
        await redis.aclose()


def _day_of(sender: DigestSender, merchant: Merchant, args: argparse.Namespace) -> date:
    from gateway.analytics.digest_schedule import latest_day

    return args.date or latest_day(sender.deps.clock.now(), sender.zone(merchant), merchant.digest_hour)


async def _preview(sender: DigestSender, merchant: Merchant, args: argparse.Namespace) -> int:
    mail = await sender.compose(merchant, _day_of(sender, merchant, args))
    print(mail.html if args.html else f"Subject: {mail.subject}\n\n{mail.text}", end="")
    return 0


async def _send(sender: DigestSender, merchant: Merchant, args: argparse.Namespace) -> int:
    from gateway.ops.notify import NotifyFailed

    day = _day_of(sender, merchant, args)
    if not sender.deps.mailer.is_configured:
        print("backhaul: no SMTP server configured (ops.smtp_host)", file=sys.stderr)
        return 2
    try:
        await sender.send(merchant, day)
    except NotifyFailed as exc:
        print(f"backhaul: {exc}", file=sys.stderr)
        return 1
    await sender.mark_sent(merchant, day)
    print(f"sent the digest of {day} to {', '.join(merchant.digest_emails)}")
    return 0


async def _settings(sender: DigestSender, merchant: Merchant, args: argparse.Namespace) -> int:
    from gateway.analytics.digest_api import DigestPrefs

    if args.emails is not None or args.hour is not None:
        emails = [e.strip() for e in (args.emails or "").split(",") if e.strip()] if args.emails is not None \
            else merchant.digest_emails
        prefs = DigestPrefs(emails=emails, hour=merchant.digest_hour if args.hour is None else args.hour)
        merchant = merchant.model_copy(update={"digest_emails": prefs.emails, "digest_hour": prefs.hour})
        await sender.deps.redis.set(sender.deps.keys.merchant(merchant.id), merchant.model_dump_json())
        await sender.enroll(merchant)
    recipients = ", ".join(merchant.digest_emails) or "nobody (no digest)"
    print(f"digest of {merchant.id}: to {recipients} at {merchant.digest_hour:02d}:00 {sender.zone(merchant).key}")
    return 0


def _runner(action: Action) -> Callable[[argparse.Namespace, Settings], None]:
    def run(args: argparse.Namespace, settings: Settings) -> None:
        from gateway.runtime import redis_url

        with redis_url(settings) as url:
            raise SystemExit(asyncio.run(_with_merchant(settings, url, args, action)))

    return run


def register(sub: Any) -> None:
    digest = sub.add_parser("digest", help="the merchants' daily returns digest email").add_subparsers(
        dest="action", required=True)
    for name, action, text in (("preview", _preview, "print a merchant's digest"),
                               ("send", _send, "send a merchant's digest now")):
        cmd = digest.add_parser(name, help=text)
        cmd.add_argument("--merchant", required=True, help="the merchant id (mer_...)")
        cmd.add_argument("--date", type=_day, default=None, help="the day (YYYY-MM-DD); default: the latest due")
        if name == "preview":
            cmd.add_argument("--html", action="store_true", help="print the HTML alternative instead of the text")
        cmd.set_defaults(func=_runner(action))
    prefs = digest.add_parser("settings", help="show or set who gets a merchant's digest and at what local hour")
    prefs.add_argument("--merchant", required=True, help="the merchant id (mer_...)")
    prefs.add_argument("--emails", default=None, help="comma-separated recipients; an empty string turns it off")
    prefs.add_argument("--hour", type=int, default=None, help="local hour, 0-23 (default 8)")
    prefs.set_defaults(func=_runner(_settings))
