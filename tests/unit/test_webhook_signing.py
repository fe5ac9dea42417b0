"""Outbound webhook signatures, checked against the Standard Webhooks spec's published example.

Source of the vector: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
("Signature scheme" example, seen 2026-11); the same secret, id, timestamp and payload are in the
reference libraries' tests. Nothing was redacted: it is a published test secret.
"""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from gateway.webhooks_out.delivery import Outcome, RetryPolicy, settlement
from gateway.webhooks_out.models import EndpointCreate, Message, entry_key, matches, message_for
from gateway.webhooks_out.signing import new_secret, signature, signed_headers

SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = datetime.fromtimestamp(1614265330, UTC)
SPEC_PAYLOAD = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_matches_the_spec_example() -> None:
    assert signature(SPEC_SECRET, SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD) == SPEC_SIGNATURE


def test_headers_carry_id_seconds_and_signature() -> None:
    headers = signed_headers(SPEC_SECRET, SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD)
    assert headers["webhook-id"] == SPEC_MSG_ID
    assert headers["webhook-timestamp"] == "1614265330"
    assert headers["webhook-signature"] == SPEC_SIGNATURE


def test_a_standard_webhooks_verifier_accepts_what_we_sign() -> None:
    secret, now = new_secret(), datetime.now(UTC)
    body = json.dumps({"type": "tracking.picked_up", "data": {"return_id": "ret_1"}})
    headers = signed_headers(secret, "msg_1-0_whe_1", now, body)
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("ret_1", "ret_2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    stale = signed_headers(secret, "msg_1-0_whe_1", now - timedelta(minutes=10), body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, stale)


def test_secret_is_whsec_and_24_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert new_secret() != secret


@pytest.mark.parametrize(("patterns", "event_type", "expected"), [
    (["tracking.*"], "tracking.picked_up", True),
    (["*"], "tracking.delivered", True),
    (["tracking.picked_up"], "tracking.picked_up", True),
    (["tracking.picked_up"], "tracking.delivered", False),
    (["tracking.delivered", "tracking.pickup_failed"], "tracking.pickup_failed", True),
])
def test_event_type_filter(patterns: list[str], event_type: str, expected: bool) -> None:
    assert matches(patterns, event_type) is expected


def test_unknown_event_type_pattern_is_refused_with_its_position() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as info:
        EndpointCreate.model_validate({"url": "https://example.com/h", "event_types": ["tracking.*", "order.*"]})
    assert info.value.errors()[0]["loc"] == ("event_types", 1)


def test_stream_ids_compare_as_numbers() -> None:
    assert entry_key("1700000000000-10") > entry_key("1700000000000-9")
    assert entry_key("0") == (0, 0)
    with pytest.raises(ValueError):
        entry_key("latest")


def _message(enqueued_at: float = 1000.0) -> Message:
    event = {"occurred_at": "2026-11-02T05:00:00Z", "status": "picked_up"}
    fields = {"type": "tracking.picked_up", "return_id": "ret_1", "order_id": "ORD-1",
              "return_status": "picked_up", "event": json.dumps(event)}
    return message_for("whe_1", "1-0", fields, enqueued_at)


def test_payload_has_type_timestamp_and_data() -> None:
    message = _message()
    body = json.loads(message.body)
    assert message.id == "msg_1-0_whe_1"
    assert body["type"] == "tracking.picked_up"
    assert body["timestamp"] == "2026-11-02T05:00:00Z"
    assert body["data"]["event"]["status"] == "picked_up"
    assert set(body["data"]) == {"return_id", "order_id", "return_status", "event"}


def test_backoff_is_full_jitter_under_a_doubling_cap() -> None:
    policy, rng = RetryPolicy(base_s=5, cap_s=3600, window_s=86400), random.Random(7)
    for attempts, ceiling in [(1, 5), (2, 10), (3, 20), (10, 2560), (11, 3600), (60, 3600)]:
        delays = [policy.delay_s(attempts, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8


def test_a_failure_is_retried_until_the_window_ends_then_dead() -> None:
    policy, rng, message = RetryPolicy(window_s=100), random.Random(1), _message(enqueued_at=1000)
    failed = Outcome(503, "HTTP 503", 0.01)
    retry = settlement(message, failed, 1050, policy, rng)
    assert retry.outcome == "retry" and 1050 <= retry.next_due_s <= 1100
    assert Message.model_validate_json(retry.new_head).attempts == 1
    dead = settlement(message, failed, 1100, policy, rng)
    assert dead.outcome == "dead" and json.loads(dead.dead_json)["last_status_code"] == 503
    assert settlement(message, Outcome(204, "", 0.01), 5000, policy, rng).outcome == "delivered"
