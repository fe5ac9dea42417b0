"""Merchant webhooks out: endpoints, the signed-delivery dispatcher, retries and dead letters.

``api.routes`` is the merchant API, ``worker.dispatcher_for`` builds the dispatcher that the
`webhooks` worker role runs (gateway/ops/wiring.py); docs/webhooks.md is what merchants read.
Nothing is imported here, so ``gateway.keys`` can name the Dispatcher type without an import cycle.
"""
