"""Merchant webhooks out: endpoints, the signed-delivery dispatcher, retries and dead letters.

``api.routes`` is the merchant API, ``worker.background_dispatcher`` the app's cleanup_ctx that
runs the dispatcher; docs/webhooks.md is what merchants read. Nothing is imported here, so
``gateway.keys`` can name the Dispatcher type without an import cycle.
"""
