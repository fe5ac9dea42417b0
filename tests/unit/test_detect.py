"""Carrier detection: published sample numbers, their check digits, and near misses."""

from __future__ import annotations

import pytest

from carriers.detect import (
    Candidate,
    detect,
    fedex_express_check_digit,
    gs1_check_digit,
    s10_check_digit,
    ups_check_digit,
)


def best(awb: str) -> Candidate:
    found = detect(awb)
    assert found, f"nothing detected for {awb}"
    return found[0]


@pytest.mark.parametrize(("awb", "carrier"), [
    ("1Z999AA10123456784", "ups"),            # UPS's documented sample (carriers.md, Track Alert)
    ("1ZCIETST0111111114", "ups"),            # UPS CIE test numbers
    ("1z 999 aa1 0123 4567 84", "ups"),       # as people type it
    ("986578788855", "fedex"),                # FedEx Express 12
    ("568838414941", "fedex"),                # FedEx mock tracking numbers (carriers.md)
    ("797806677146", "fedex"),
    ("449044304137821", "fedex"),             # FedEx Ground 15 mock
    ("122816215025810", "fedex"),
    ("9611020987654312345672", "fedex"),      # FedEx Ground 96 barcode
    ("00012345000000000027", "fedex"),        # SSCC-18
    ("9400111201080805483016", "usps"),       # IMpb
    ("9361 2898 7870 0317 6337 95", "usps"),
    ("9505511069605048600624", "usps"),
    ("4201002334249200190132607600833457", "usps"),  # IMpb behind 420 + ZIP+4
    ("EE123456785US", "usps"),                # S10
    ("RB123456785US", "usps"),
    ("JJD0099999999", "dhl"),
    ("JVGL0999999990", "dhl"),
    ("GM2951173225174494", "dhl"),
    ("D78326386", "dtdc"),                    # carriers.md §6.3
    ("500999A3408005", "ekart"),              # Ekart doc sample
    ("26805710004126", "delhivery"),          # captured Delhivery answer
    ("69500000017", "bluedart"),
    ("102345678", "ecom_express"),
    ("SF1234567890ABC", "shadowfax"),
])
def test_published_samples_go_to_their_carrier(awb: str, carrier: str) -> None:
    assert best(awb).carrier == carrier


def test_check_digits_match_the_published_samples() -> None:
    assert ups_check_digit("999AA1012345678") == 4
    assert fedex_express_check_digit("98657878885") == 5
    assert gs1_check_digit("04144176022896") == 4
    assert gs1_check_digit("940011120108080548301") == 6
    assert s10_check_digit("12345678") == 5


@pytest.mark.parametrize("awb", [
    "996578788855",            # FedEx Express with a wrong check digit (and no Indian 12-digit rule)
    "9400111201080805483017",  # IMpb with a wrong check digit
    "EE123456786US",           # S10 with a wrong check digit
    "EE123456785GB",           # a valid S10 of Royal Mail: not one of our carriers
    "9600000000000000000001",  # 96 barcode with a wrong check digit
    "",
    "hello world",
    "12345",
    "1Z-<script>",
])
def test_wrong_check_digits_and_foreign_numbers_match_nothing(awb: str) -> None:
    assert detect(awb) == []


def test_a_ups_number_with_a_bad_check_digit_is_a_weak_candidate() -> None:
    found = detect("1Z999AA10123456785")
    assert [c.carrier for c in found] == ["ups"] and found[0].confidence < 0.5


def test_dhl_mod7_negative_leaves_only_the_weak_indian_range() -> None:
    assert [c.carrier for c in detect("3318810025")] == ["dhl", "ecom_express"]
    assert [c.carrier for c in detect("3318810010")] == ["ecom_express"]


def test_a_shared_numeric_range_is_ranked_and_never_confident() -> None:
    found = detect("449044304137821")  # 15 digits: FedEx Ground check digit holds
    assert found[0].carrier == "fedex"
    assert all(c.confidence <= 0.35 for c in detect("14900000000017"))


def test_candidates_are_sorted_and_bounded() -> None:
    for awb in ("3318810025", "1Z999AA10123456784", "500999A3408005", "00012345000000000027"):
        found = detect(awb)
        assert found == sorted(found, key=lambda c: -c.confidence)
        assert all(0 < c.confidence <= 1 and c.reason for c in found)


def test_the_cli_prints_one_line_per_candidate_and_fails_on_no_match(capsys: pytest.CaptureFixture[str]) -> None:
    from gateway.cli import build_parser

    args = build_parser().parse_args(["detect", "3318810025"])
    with pytest.raises(SystemExit) as ok:
        args.func(args, None)
    assert ok.value.code == 0
    assert [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()] == ["dhl", "ecom_express"]
    args = build_parser().parse_args(["detect", "--json", "not-an-awb"])
    with pytest.raises(SystemExit) as missing:
        args.func(args, None)
    assert missing.value.code == 1 and capsys.readouterr().out.strip() == "[]"
