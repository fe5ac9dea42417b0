"""Building the ops layer into the app: its core in `_services`, its worker as a background task."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from gateway import keys
from gateway.analytics.digest_schedule import sender_for
from gateway.ops.alerts import AlertCenter
from gateway.ops.calls import CallLog
from gateway.ops.config import load_alerts, load_remediation
from gateway.ops.core import OpsCore
from gateway.ops.health import HealthLog
from gateway.ops.notify import SHIPPED_TEMPLATES, Channel, EmailChannel, HttpChannel, Mailer, Notifier, Templates
from gateway.ops.npr import NprStore
from gateway.ops.remediation import Remediator
from gateway.ops.sinks import SinkSender
from gateway.ops.stuck import StuckWatch
from gateway.ops.worker import OpsWorker, OpsWorkerDeps
from gateway.portal.confirm import ConfirmationSender
from gateway.store.keys import Keys
from gateway.webhooks_out.dispatcher import Dispatcher
from gateway.webhooks_out.worker import dispatcher_for

OPS_WORKER = web.AppKey("ops_worker", OpsWorker)


def build_core(app: web.Application) -> OpsCore:
    """The ops hooks; reads config/remediation.yaml and config/alerts.yaml (raises ConfigError)."""
    s, redis, clock, metrics = app[keys.SETTINGS], app[keys.REDIS], app[keys.CLOCK], app[keys.METRICS]
    k = Keys(s.key_prefix)
    alerts_config = load_alerts(s.config_dir)
    core = OpsCore(store=app[keys.RETURNS], nprs=NprStore(redis, k),
                   alerts=AlertCenter(redis, k, clock, alerts_config, metrics),
                   stuck=StuckWatch(redis, k, clock, alerts_config.stuck),
                   health=HealthLog(redis, k, CallLog(redis, k, clock, s.carrier_guard.stats_kept_s)),
                   metrics=metrics, clock=clock, remediation=load_remediation(s.config_dir),
                   alerts_config=alerts_config)
    app[keys.OPS] = core
    return core


def notifier_for(app: web.Application) -> Notifier:
    s = app[keys.SETTINGS]
    ops, http = s.ops, app[keys.HTTP]
    channels: list[Channel] = [EmailChannel(Mailer(ops))]
    if ops.sms_url:
        channels.append(HttpChannel("sms", ops.sms_url, ops.sms_token.get_secret_value(), http, ops.sink_timeout_s))
    if ops.whatsapp_url:
        channels.append(HttpChannel("whatsapp", ops.whatsapp_url, ops.whatsapp_token.get_secret_value(), http,
                                    ops.sink_timeout_s))
    templates = Templates([s.config_dir / "notifications", SHIPPED_TEMPLATES])
    return Notifier(channels, templates, app[keys.METRICS], s.public_url)


def remediator_for(app: web.Application) -> Remediator:
    core = app[keys.OPS]
    return Remediator(merchants=app[keys.MERCHANTS], hub=app[keys.CARRIERS], booker=app[keys.BOOKER],
                      ingestor=app[keys.INGESTOR], nprs=core.nprs, notifier=notifier_for(app),
                      metrics=app[keys.METRICS], config=core.remediation)


def ops_worker_for(app: web.Application) -> OpsWorker:
    s, core = app[keys.SETTINGS], app[keys.OPS]
    sender = SinkSender(core.alerts, app[keys.HTTP], Mailer(s.ops), app[keys.METRICS], s.public_url.rstrip("/"),
                        s.ops.sink_timeout_s)
    return OpsWorker(OpsWorkerDeps(core=core, remediator=remediator_for(app), sender=sender, store=app[keys.RETURNS],
                                   hub=app[keys.CARRIERS], metrics=app[keys.METRICS], tick_s=s.ops.tick_s,
                                   digests=sender_for(s, app[keys.REDIS], app[keys.CLOCK], app[keys.METRICS]),
                                   confirmations=confirmations_for(app)))


def confirmations_for(app: web.Application) -> ConfirmationSender:
    """The sender of the portal's return confirmations, drained by the ops worker each tick."""
    return ConfirmationSender(app[keys.REDIS], Keys(app[keys.SETTINGS].key_prefix), app[keys.CLOCK],
                              app[keys.RETURNS], app[keys.MERCHANTS], notifier_for(app), app[keys.METRICS])


async def _until_cleanup(runner: OpsWorker | Dispatcher) -> AsyncIterator[None]:
    task = asyncio.create_task(runner.run())
    yield
    runner.stop()
    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
        await asyncio.wait_for(task, timeout=10)


async def background_ops(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the ops worker, built after every service (and any test's replacement of them)."""
    app[OPS_WORKER] = ops_worker_for(app)
    async for _ in _until_cleanup(app[OPS_WORKER]):
        yield


async def background_dispatcher_with_alerts(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the outbound webhook dispatcher, with dead letters raising an ops alert."""
    dispatcher = dispatcher_for(app, on_dead_letter=app[keys.OPS].dead_letter)
    app[keys.WEBHOOK_DISPATCHER] = dispatcher
    async for _ in _until_cleanup(dispatcher):
        yield
