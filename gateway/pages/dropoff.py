"""Drop-off returns on the customer's pages: where to take the parcel, and the label to stick on it.

A drop-off return (`fulfilment: drop_off`) has no courier and no pickup date: the tracking page
says where to drop the parcel off and links the label, `/t/{token}/label` (`dropoff_label.py`).
The places are the carriers' own drop-off points as carriers.md names them (UPS Access Point and
The UPS Store, FedEx locations, DHL Service Points); "Post Office" for USPS returns labels.
"""

from __future__ import annotations

from typing import Any

from gateway.models import Return
from gateway.pages import texts

PLACES = {
    "ups": texts.N_("a UPS Access Point or The UPS Store"),
    "fedex": texts.N_("a FedEx location"),
    "dhl": texts.N_("a DHL Service Point"),
    "usps": texts.N_("a Post Office"),
}
ANY_PLACE = texts.N_("the courier's drop-off point")


def is_drop_off(ret: Return) -> bool:
    return ret.request is not None and ret.request.fulfilment == "drop_off"


def place(code: str | None) -> str:
    """The untranslated name of where `code` takes drop-offs (gettext it for the page)."""
    return PLACES.get(code or "", ANY_PLACE)


def guidance(ret: Return, gettext: Any, label_url: str) -> dict[str, str] | None:
    """What the tracking page says instead of a pickup date, None for a pickup return or once it is handed in."""
    if not is_drop_off(ret) or ret.state.picked_up_at is not None:
        return None
    code = ret.shipment.carrier if ret.shipment else None
    return {"place": gettext(place(code)), "label_url": label_url if ret.shipment else ""}
