"""Shipping zones of a pickup/drop pair, from the India Post PIN list (`indian-pincode`, offline).

`local` (same district), `regional` (same state), `metro` (metro to metro), `national`
(rest of India), `special` (north-east, J&K, Ladakh, islands: every carrier prices them apart)
and `international` (either end outside India).
"""

from __future__ import annotations

from functools import lru_cache

import indian_pincode

ZONES = ("local", "regional", "metro", "national", "special", "international")

SPECIAL_STATES = frozenset({
    "ARUNACHAL PRADESH", "ASSAM", "MANIPUR", "MEGHALAYA", "MIZORAM", "NAGALAND", "SIKKIM", "TRIPURA",
    "JAMMU AND KASHMIR", "LADAKH", "ANDAMAN AND NICOBAR ISLANDS", "LAKSHADWEEP",
})
# District names as India Post spells them; Delhi counts as one metro whatever the district.
METRO_DISTRICTS = frozenset({
    "MUMBAI", "MUMBAI SUBURBAN", "THANE", "BENGALURU URBAN", "CHENNAI", "KOLKATA", "HYDERABAD",
    "PUNE", "AHMADABAD", "AHMEDABAD",
})


@lru_cache(maxsize=65_536)
def place_of(pin: str) -> tuple[str, frozenset[str], bool]:
    """(state, districts, is_metro) of an Indian PIN; ("", {}, False) for one India Post does not list."""
    details = indian_pincode.get_details(pin) if len(pin) == 6 and pin.isdigit() else None
    if not details:
        return "", frozenset(), False
    state = str(details["state"])
    districts = frozenset(str(d) for d in details["districts"])
    return state, districts, state == "DELHI" or bool(districts & METRO_DISTRICTS)


@lru_cache(maxsize=262_144)
def zone_of(pickup_country: str, pickup_pin: str, drop_country: str, drop_pin: str) -> str:
    """The zone a parcel travels from `pickup_pin` to `drop_pin`."""
    if pickup_country != "IN" or drop_country != "IN":
        return "international"
    from_state, from_districts, from_metro = place_of(pickup_pin)
    to_state, to_districts, to_metro = place_of(drop_pin)
    if from_state in SPECIAL_STATES or to_state in SPECIAL_STATES:
        return "special"
    if from_districts & to_districts:
        return "local"
    if from_state and from_state == to_state:
        return "regional"
    if from_metro and to_metro:
        return "metro"
    return "national"


def area_of(country: str, pin: str) -> str:
    """The pickup area outcomes are learned per: the 3-digit sorting district, or the country abroad."""
    return pin[:3] if country == "IN" else country
