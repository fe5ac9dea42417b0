"""Zones from the India Post PIN list."""

from __future__ import annotations

import pytest

from gateway.rules.zones import area_of, zone_of

CASES = [
    ("IN", "560001", "IN", "560002", "local"),       # both Bengaluru Urban
    ("IN", "560001", "IN", "570001", "regional"),    # Bengaluru to Mysuru
    ("IN", "560001", "IN", "110001", "metro"),       # Bengaluru to New Delhi
    ("IN", "560001", "IN", "682001", "national"),    # Bengaluru to Kochi
    ("IN", "560001", "IN", "791111", "special"),     # to Arunachal Pradesh
    ("IN", "190001", "IN", "110001", "special"),     # from Srinagar
    ("US", "10001", "IN", "560001", "international"),
]


@pytest.mark.parametrize(("fc", "fp", "tc", "tp", "zone"), CASES)
def test_zone_of(fc: str, fp: str, tc: str, tp: str, zone: str) -> None:
    assert zone_of(fc, fp, tc, tp) == zone


def test_area_is_the_sorting_district_or_the_country() -> None:
    assert area_of("IN", "560001") == "560" and area_of("GB", "SW1A 1AA") == "GB"
