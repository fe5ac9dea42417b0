"""Sending each merchant's digest once a day, exactly once across worker processes and restarts.

`digest:due` holds each enrolled merchant's next due time; the ops worker's tick takes at most
`max_per_tick` due merchants. A send is claimed with `SET NX` on `{mid}:digest:<day>` ("sending
<token>", expiring after `lease_s`, so a crashed sender's claim lapses); after the mail server took
the message it becomes "sent" for 8 days, and the merchant is due again at its next digest hour.
A failed send deletes its own claim and comes back `retry_s` later. A process that dies after the
server took the mail but before "sent" was written sends it again once the lease lapses: at least
once, never twice while Redis answers.

A digest is due for the day D (a UTC day of counters, dated as the merchant's local yesterday) at
the later of the merchant's local `digest_hour` on D+1 and the end of D in UTC. A worker that was
down for days sends only the latest digest, not the ones it missed.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from carriers.clock import Clock
from gateway.analytics.digest import DigestOptions, compose
from gateway.analytics.digest_mail import DigestMail, render
from gateway.metrics import Metrics
from gateway.models import Merchant
from gateway.ops.notify import Mailer, NotifyFailed
from gateway.rules.config import load_rates
from gateway.settings import DigestSettings, Settings
from gateway.store.keys import Keys
from gateway.store.merchants import MerchantStore
from gateway.store.server import text

log = logging.getLogger(__name__)
SENT_TTL_S = 8 * 24 * 3600


def zone_of(merchant: Merchant, default: str) -> ZoneInfo:
    for name in (merchant.time_zone, default):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def due_at(day: date, zone: ZoneInfo, hour: int) -> datetime:
    """When the digest of `day` may go: its counters are complete and the merchant's hour has come."""
    local = datetime.combine(day + timedelta(days=1), time(hour), tzinfo=zone).astimezone(UTC)
    return max(local, datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC))


def latest_day(now: datetime, zone: ZoneInfo, hour: int) -> date:
    """The newest day whose digest is due at `now`."""
    day = now.astimezone(zone).date() - timedelta(days=1)
    while due_at(day, zone, hour) > now:
        day -= timedelta(days=1)
    return day


@dataclass(frozen=True)
class DigestDeps:
    redis: aioredis.Redis
    keys: Keys
    merchants: MerchantStore
    mailer: Mailer
    metrics: Metrics
    clock: Clock
    settings: DigestSettings
    base_url: str
    currency: str


class DigestSender:
    """Composes, sends and schedules the digests; the ops worker calls `run_due` each tick."""

    def __init__(self, deps: DigestDeps) -> None:
        self.deps = deps

    def zone(self, merchant: Merchant) -> ZoneInfo:
        return zone_of(merchant, self.deps.settings.time_zone)

    def next_due(self, merchant: Merchant, now: datetime) -> datetime:
        zone = self.zone(merchant)
        return due_at(latest_day(now, zone, merchant.digest_hour) + timedelta(days=1), zone, merchant.digest_hour)

    async def compose(self, merchant: Merchant, day: date) -> DigestMail:
        d, s = self.deps, self.deps.settings
        options = DigestOptions(d.base_url, s.sku_window_days, s.sku_min_ordered)
        return render(await compose(d.redis, d.keys, merchant, day, options), merchant, d.currency)

    async def send(self, merchant: Merchant, day: date) -> None:
        """Compose and hand the digest of `day` to the mail server. Raises: NotifyFailed."""
        if not merchant.digest_emails:
            raise NotifyFailed(f"merchant {merchant.id} has no digest recipients")
        mail = await self.compose(merchant, day)
        await self.deps.mailer.send(list(merchant.digest_emails), mail.subject, mail.text, mail.html)

    async def mark_sent(self, merchant: Merchant, day: date) -> None:
        """Record `day` as sent (`backhaul digest send` does, so the worker does not send it again)."""
        stamp = self.deps.clock.now().isoformat()
        await self.deps.redis.set(self.deps.keys.digest_claim(merchant.id, day.isoformat()), f"sent {stamp}",
                                  ex=SENT_TTL_S)

    async def enroll(self, merchant: Merchant) -> datetime:
        """Schedule the merchant's next digest; an earlier time already scheduled stays (ZADD LT)."""
        due = self.next_due(merchant, self.deps.clock.now())
        await self.deps.redis.zadd(self.deps.keys.digest_due(), {merchant.id: due.timestamp()}, lt=True)
        return due

    async def run_due(self) -> dict[str, int]:
        """One tick: the digests that are due, at most `max_per_tick`; counts by outcome."""
        d = self.deps
        if not d.mailer.is_configured:
            return {}
        now = d.clock.now()
        due = cast(list[Any], await d.redis.zrangebyscore(d.keys.digest_due(), "-inf", now.timestamp(), start=0,
                                                         num=d.settings.max_per_tick))
        outcomes: dict[str, int] = {}
        for mid in [text(m) for m in due]:
            outcome = await self._one(mid, now)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if outcome in ("sent", "failed", "duplicate"):
                d.metrics.digests.labels(outcome).inc()
        return outcomes

    async def _reschedule(self, mid: str, when: datetime) -> None:
        await self.deps.redis.zadd(self.deps.keys.digest_due(), {mid: when.timestamp()})

    async def _one(self, mid: str, now: datetime) -> str:
        d = self.deps
        merchant = await d.merchants.get(mid)
        if merchant is None:
            await d.redis.zrem(d.keys.digest_due(), mid)
            return "gone"
        if not merchant.digest_emails:
            # Stays scheduled, looked at once a day: removing it here could race a merchant opting in.
            await self._reschedule(mid, self.next_due(merchant, now))
            return "opted_out"
        day = latest_day(now, self.zone(merchant), merchant.digest_hour)
        claim, token = d.keys.digest_claim(mid, day.isoformat()), f"sending {secrets.token_hex(8)}"
        if not await d.redis.set(claim, token, nx=True, ex=max(1, int(d.settings.lease_s))):
            if text(await d.redis.get(claim)).startswith("sent"):
                await self._reschedule(mid, self.next_due(merchant, now))
            # Else another worker is sending it now; it reschedules, or its lease lapses and a later tick retries.
            return "duplicate"
        try:
            await self.send(merchant, day)
        except Exception as exc:
            await self._release(claim, token)
            await self._reschedule(mid, now + timedelta(seconds=d.settings.retry_s))
            log.warning("digest send failed", extra={"merchant_id": mid, "day": day.isoformat(), "error": str(exc)})
            return "failed"
        await self.mark_sent(merchant, day)
        await self._reschedule(mid, self.next_due(merchant, now))
        return "sent"

    async def _release(self, claim: str, token: str) -> None:
        """Delete the claim only while it is still ours (a lapsed lease may have passed it on)."""
        async with self.deps.redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(claim)
                if text(await pipe.get(claim)) != token:
                    return
                pipe.multi()
                pipe.delete(claim)
                await pipe.execute()
            except WatchError:
                pass  # the claim changed hands while we looked: it is no longer ours to delete


def sender_for(settings: Settings, redis: aioredis.Redis, clock: Clock, metrics: Metrics) -> DigestSender:
    """The sender the ops worker, the API and the CLI use. Raises: ConfigError (config/rates.yaml)."""
    keys = Keys(settings.key_prefix)
    return DigestSender(DigestDeps(redis=redis, keys=keys, merchants=MerchantStore(redis, keys, clock),
                                   mailer=Mailer(settings.ops), metrics=metrics, clock=clock, settings=settings.digest,
                                   base_url=settings.public_url, currency=load_rates(settings.config_dir).currency))
