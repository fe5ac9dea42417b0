"""The returns portal `/r/{merchant}`: the orders a customer may return, and the pages to return them."""

from __future__ import annotations

from aiohttp import web


def routes() -> list[web.AbstractRouteDef]:
    """Every portal route, for `app.add_routes`."""
    from gateway.portal import code_pages, pages, submit

    return [*pages.routes, *code_pages.routes, *submit.routes]
