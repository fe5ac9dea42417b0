"""Webhook endpoints, the messages queued for them and the attempts made to deliver them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AnyHttpUrl, BaseModel, ConfigDict, Field

from normalizers.taxonomy import Status

EVENT_TYPES: frozenset[str] = frozenset(f"tracking.{s.value}" for s in Status)
_PATTERNS: frozenset[str] = EVENT_TYPES | {"*", "tracking.*"}


def matches(patterns: list[str], event_type: str) -> bool:
    """Whether an endpoint's filter takes an event type: "*", "tracking.*" or the exact type."""
    for pattern in patterns:
        if pattern == event_type or pattern == "*":
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def _known_pattern(pattern: str) -> str:
    if pattern not in _PATTERNS:
        raise ValueError(f"{pattern!r} is not an event type; use \"*\", \"tracking.*\" or e.g. \"tracking.picked_up\"")
    return pattern


Pattern = Annotated[str, AfterValidator(_known_pattern)]


def _short_enough(url: AnyHttpUrl) -> AnyHttpUrl:
    if len(str(url)) > 2000:
        raise ValueError("the URL is longer than 2000 characters")
    return url


# A receiver's URL, for merchant webhooks and the order lookup alike.
ReceiverUrl = Annotated[AnyHttpUrl, AfterValidator(_short_enough)]


def entry_key(entry_id: str) -> tuple[int, int]:
    """A stream id as a sortable pair; Raises: ValueError for text that is not a stream id."""
    ms, _, seq = entry_id.partition("-")
    if not ms.isdigit() or not (seq.isdigit() or seq == ""):
        raise ValueError(f"{entry_id!r} is not a stream id")
    return int(ms), int(seq or 0)


class EndpointCreate(BaseModel):
    """The body of `POST /v1/webhook-endpoints`."""

    model_config = ConfigDict(extra="forbid")

    url: ReceiverUrl
    event_types: list[Pattern] = Field(default_factory=lambda: ["tracking.*"], min_length=1, max_length=50)
    description: str = Field(default="", max_length=500)



class Endpoint(BaseModel):
    """A merchant's registered receiver; `secret` never leaves the API after creation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    merchant_id: str
    url: str
    event_types: list[str]
    description: str = ""
    created_at: datetime
    after: str = Field(description="feed cursor at creation: older entries are not sent")
    secret: str = Field(repr=False)

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "event_types": self.event_types,
                "description": self.description, "created_at": self.created_at.isoformat()}


class Message(BaseModel):
    """One feed entry bound for one endpoint; `body` is signed and sent byte for byte on every try."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    entry: str
    endpoint_id: str
    return_id: str
    type: str
    body: str
    enqueued_at: float
    attempts: int = 0


def message_for(endpoint_id: str, entry_id: str, fields: dict[str, str], now_s: float) -> Message:
    """The Standard Webhooks payload of one feed entry; the id is stable so receivers can dedupe."""
    event = json.loads(fields["event"])
    body = {"type": fields["type"], "timestamp": event["occurred_at"],
            "data": {"return_id": fields["return_id"], "order_id": fields["order_id"],
                     "return_status": fields["return_status"], "event": event}}
    return Message(id=f"msg_{entry_id}_{endpoint_id}", entry=entry_id, endpoint_id=endpoint_id,
                   return_id=fields["return_id"], type=fields["type"],
                   body=json.dumps(body, separators=(",", ":")), enqueued_at=now_s)


class Attempt(BaseModel):
    """One try at delivering a message, as `GET .../deliveries` shows it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    message_id: str
    type: str
    return_id: str
    attempt: int
    outcome: str
    status_code: int | None = None
    error: str = ""
    at: datetime
    duration_ms: int
