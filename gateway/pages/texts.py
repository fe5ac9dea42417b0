"""What the tracking page says about each unified status and reason, in English msgids.

The strings are marked with `N_` so Babel extracts them into the catalogues; the page
translates them at render time with the customer's catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from normalizers.taxonomy import Reason, Status


def N_(message: str) -> str:
    """Mark a string for extraction without translating it here."""
    return message


HEADLINES: Mapping[Status, str] = MappingProxyType({
    Status.CREATED: N_("We have your return request"),
    Status.PICKUP_SCHEDULED: N_("Your pickup is scheduled"),
    Status.OUT_FOR_PICKUP: N_("The courier is on the way to pick up your return"),
    Status.PICKUP_FAILED: N_("The pickup did not happen"),
    Status.PICKED_UP: N_("Your return has been picked up"),
    Status.IN_TRANSIT: N_("Your return is on its way"),
    Status.OUT_FOR_DELIVERY: N_("Your return is out for delivery to the store"),
    Status.DELIVERED: N_("Your return has reached the store"),
    Status.DELIVERY_FAILED: N_("Delivery to the store was delayed"),
    Status.ON_HOLD: N_("Your return is on hold"),
    Status.RETURNED_TO_SENDER: N_("Your return was sent back to you"),
    Status.CANCELLED: N_("This return was cancelled"),
    Status.EXCEPTION: N_("There is a problem with your return"),
    Status.UNKNOWN: N_("We are checking on your return"),
})

DETAILS: Mapping[Status, str] = MappingProxyType({
    Status.CREATED: N_("We are booking a courier to collect the parcel from you."),
    Status.PICKUP_SCHEDULED: N_("Keep the parcel packed and ready. The courier will call before coming."),
    Status.OUT_FOR_PICKUP: N_("Keep your phone nearby: the courier will call when they arrive."),
    Status.PICKUP_FAILED: N_("The courier could not collect your parcel."),
    Status.PICKED_UP: N_("The courier has your parcel. Nothing more is needed from you."),
    Status.IN_TRANSIT: N_("Your parcel is travelling to the store's warehouse."),
    Status.OUT_FOR_DELIVERY: N_("Your parcel will reach the store's warehouse today."),
    Status.DELIVERED: N_("The store will check the item and then complete your refund or exchange."),
    Status.DELIVERY_FAILED: N_("The courier will try to deliver your parcel to the store again."),
    Status.ON_HOLD: N_("The courier has paused your return. We are following it up."),
    Status.RETURNED_TO_SENDER: N_("The courier brought the parcel back to your address."),
    Status.CANCELLED: N_("No courier will come. If this is a mistake, contact the store."),
    Status.EXCEPTION: N_("The courier reported a problem. We are looking into it."),
    Status.UNKNOWN: N_("The courier sent an update we are still checking."),
})

LABELS: Mapping[Status, str] = MappingProxyType({
    Status.CREATED: N_("Return requested"),
    Status.PICKUP_SCHEDULED: N_("Pickup scheduled"),
    Status.OUT_FOR_PICKUP: N_("Courier on the way"),
    Status.PICKUP_FAILED: N_("Pickup attempt failed"),
    Status.PICKED_UP: N_("Picked up"),
    Status.IN_TRANSIT: N_("In transit"),
    Status.OUT_FOR_DELIVERY: N_("Out for delivery to the store"),
    Status.DELIVERED: N_("Delivered to the store"),
    Status.DELIVERY_FAILED: N_("Delivery delayed"),
    Status.ON_HOLD: N_("On hold"),
    Status.RETURNED_TO_SENDER: N_("Sent back to you"),
    Status.CANCELLED: N_("Cancelled"),
    Status.EXCEPTION: N_("Problem reported"),
    Status.UNKNOWN: N_("Update received"),
})

REASONS: Mapping[Reason, str] = MappingProxyType({
    Reason.CUSTOMER_UNAVAILABLE: N_("Nobody was available at the address."),
    Reason.CUSTOMER_REFUSED: N_("The parcel was not handed over."),
    Reason.ADDRESS_ISSUE: N_("The courier could not find the address."),
    Reason.CONTACT_UNREACHABLE: N_("The courier could not reach you by phone."),
    Reason.RESCHEDULE_REQUESTED: N_("A new pickup date was requested."),
    Reason.ITEM_NOT_READY: N_("The parcel was not ready."),
    Reason.QC_FAILED: N_("The item did not pass the check at the door."),
    Reason.NOT_SERVICEABLE: N_("The courier does not serve this address."),
    Reason.CARRIER_DELAY: N_("The courier is running late."),
    Reason.ENTRY_RESTRICTED: N_("The courier could not enter the building or area."),
    Reason.DAMAGED: N_("The parcel was damaged."),
    Reason.LOST: N_("The parcel is missing."),
    Reason.CANCELLED_BY_MERCHANT: N_("The store cancelled the return."),
    Reason.OTHER: N_("The courier gave another reason."),
})

# What the page says after a customer action, keyed by the `done` / `error` query value.
DONE: Mapping[str, str] = MappingProxyType({
    "rescheduled": N_("Done. We have asked the courier to come again on the date you chose."),
    "contact": N_("Done. Your details are updated and the courier will try again."),
    "cancelled": N_("Done. Your return is cancelled; you can keep the item."),
})
ERRORS: Mapping[str, str] = MappingProxyType({
    "carrier": N_("We could not reach the courier just now. Please try again in a few minutes."),
    "expired": N_("This form has expired. Please try again."),
    "invalid": N_("Please check the phone number and address and try again."),
    "closed": N_("This is no longer possible for this return."),
})
