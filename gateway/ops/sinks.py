"""Where alert notifications go: Slack-compatible incoming webhooks, email, generic webhooks."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

from gateway.metrics import Metrics
from gateway.ops.alerts import Alert, AlertCenter
from gateway.ops.config import Sink
from gateway.ops.notify import Mailer, NotifyFailed

log = logging.getLogger(__name__)
MAX_TRIES = 5


def summary(event: str, alert: Alert, console_url: str) -> str:
    head = "RESOLVED" if event == "resolved" else alert.severity.upper()
    times = f" (x{alert.count})" if alert.count > 1 else ""
    return f"[{head}] {alert.title}{times}\n{alert.detail}\n{console_url}/ops/alerts/{alert.id}".strip()


def payload(sink: Sink, event: str, alert: Alert, console_url: str) -> dict[str, Any]:
    if sink.kind == "slack":
        return {"text": summary(event, alert, console_url)}
    return {"type": f"alert.{event}", "alert": alert.model_dump(mode="json"),
            "url": f"{console_url}/ops/alerts/{alert.id}"}


@dataclass(frozen=True)
class SinkSender:
    """Delivers what the alert outbox holds; a failed delivery is tried again, up to MAX_TRIES."""

    alerts: AlertCenter
    http: aiohttp.ClientSession
    mailer: Mailer
    metrics: Metrics
    console_url: str
    timeout_s: float = 5.0

    async def drain(self) -> int:
        entries = await self.alerts.take_outbox()
        for entry in entries:
            sinks = self.alerts.config.sinks
            alert = await self.alerts.get(str(entry["alert_id"]))
            if alert is None or entry["sink"] >= len(sinks):
                continue
            sink = sinks[entry["sink"]]
            try:
                await self.send(sink, str(entry["event"]), alert)
            except NotifyFailed as exc:
                self.metrics.alert_deliveries.labels(sink.kind, "failed").inc()
                log.warning("alert delivery failed", extra={"sink": sink.kind, "error": str(exc)})
                if entry.get("tries", 0) + 1 < MAX_TRIES:
                    await self.alerts.retry_later(entry)
                continue
            self.metrics.alert_deliveries.labels(sink.kind, "sent").inc()
        return len(entries)

    async def send(self, sink: Sink, event: str, alert: Alert) -> None:
        """Raises: NotifyFailed."""
        if sink.kind == "email":
            await self.mailer.send(sink.to, summary(event, alert, self.console_url).split("\n", 1)[0],
                                   summary(event, alert, self.console_url))
            return
        try:
            async with self.http.post(sink.url, json=payload(sink, event, alert, self.console_url),
                                      timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as resp:
                if resp.status >= 300:
                    raise NotifyFailed(f"{sink.kind}: {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise NotifyFailed(f"{sink.kind}: {exc}") from exc
