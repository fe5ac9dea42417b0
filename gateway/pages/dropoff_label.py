"""`/t/{token}/label`: the label of a drop-off return, for the customer to print and stick on the parcel."""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.label import render_label
from gateway.label_data import label_data
from gateway.pages.dropoff import is_drop_off
from gateway.pages.tracking import error_page, load

routes = web.RouteTableDef()


@routes.get("/t/{token}/label")
async def drop_off_label(request: web.Request) -> web.Response:
    """The label of a booked drop-off return: the carrier's PDF when it gave one, else ours."""
    found = await load(request)
    if isinstance(found, web.Response):
        return found
    ret, merchant = found
    if not is_drop_off(ret) or ret.shipment is None:
        return error_page(request, "not_found")
    hub, shipment = request.app[keys.CARRIERS], ret.shipment
    carrier = hub.get(shipment.carrier)
    from_carrier = await hub.call(shipment.carrier, "label", lambda: carrier.label(shipment.awb))
    headers = {"Content-Disposition": f'inline; filename="{ret.id}-label.pdf"', "Cache-Control": "no-store",
               "Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff"}
    if from_carrier is not None and from_carrier.label_pdf:
        return web.Response(body=from_carrier.label_pdf, content_type="application/pdf", headers=headers)
    fields = {**shipment.label_fields, **(from_carrier.label_fields if from_carrier is not None else {})}
    pdf = render_label(label_data(ret, merchant, carrier.name, fields))
    return web.Response(body=pdf, content_type="application/pdf", headers=headers)
