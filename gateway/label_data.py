"""What goes on a return label, taken from a return and the carrier's label fields."""

from __future__ import annotations

from carriers.base import Address, Contact
from gateway.label import LabelData, LabelParty
from gateway.models import Merchant, Return


def _party(contact: Contact, address: Address) -> LabelParty:
    lines = [address.line1, address.line2, f"{address.city}, {address.state}".strip(", ")]
    return LabelParty(name=contact.name, address_lines=tuple(x for x in lines if x),
                      postcode=address.postcode, phone=contact.phone)


def label_data(ret: Return, merchant: Merchant, carrier_name: str, fields: dict[str, str]) -> LabelData:
    assert ret.shipment is not None
    body, (drop, drop_contact) = ret.requested, ret.drop_to
    items = body.items
    count = sum(i.quantity for i in items)
    names = ", ".join(i.name for i in items)
    return LabelData(
        awb=ret.shipment.awb,
        carrier_name=carrier_name,
        return_id=ret.id,
        merchant_name=merchant.display_name or merchant.name,
        pickup=_party(body.customer, body.pickup_address),
        drop=_party(drop_contact, drop),
        weight_g=body.parcel.weight_g,
        created_at=ret.created_at.date(),
        items_summary=f"{count} item{'s' if count != 1 else ''}: {names}",
        sort_code=fields.get("sort_code") or None,
    )
