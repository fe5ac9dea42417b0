"""The return label: page size, text, determinism, overflow, and a real barcode scan.

The scan test renders the PDF with poppler's pdftoppm and decodes it with zbar's zbarimg,
as a warehouse scanner would read the printed label. `.ci/run` installs both.
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from gateway.label import PAGE_HEIGHT_PT, PAGE_WIDTH_PT, LabelData, LabelParty, render_label

PICKUP = LabelParty(
    name="Priya Raghavan",
    address_lines=("Flat 4B, Lakeview Apartments", "12th Cross, Indiranagar", "Bengaluru, Karnataka"),
    postcode="560038",
    phone="+91 98450 12345",
)
DROP = LabelParty(
    name="Acme Fashion Returns Warehouse",
    address_lines=("Plot 22, KIADB Industrial Area", "Hubballi, Karnataka"),
    postcode="580030",
)
LABEL = LabelData(
    awb="28491610003452",
    carrier_name="Delhivery",
    return_id="RMA-2025-000123",
    merchant_name="Acme Fashion",
    pickup=PICKUP,
    drop=DROP,
    weight_g=750,
    created_at=date(2025, 3, 12),
    items_summary="2 items: Shoes, Tee",
    sort_code="BLR/HBL",
)


def _page_text(pdf: bytes) -> str:
    return PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def _require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run .ci/run, which installs zbar-tools and poppler-utils")
    return path


def _scan(pdf: bytes, tmp_path: Path) -> list[str]:
    """Every barcode value zbarimg reads off the label printed at 300 dpi."""
    pdftoppm, zbarimg = _require_tool("pdftoppm"), _require_tool("zbarimg")
    (tmp_path / "label.pdf").write_bytes(pdf)
    subprocess.run(
        [pdftoppm, "-r", "300", "-png", "-singlefile", "label.pdf", "label"], cwd=tmp_path, check=True
    )
    decoded = subprocess.run(
        [zbarimg, "--raw", "-q", str(tmp_path / "label.png")], capture_output=True, text=True, check=True
    )
    return decoded.stdout.splitlines()


def test_label_is_one_4x6_inch_page() -> None:
    reader = PdfReader(io.BytesIO(render_label(LABEL)))

    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == (PAGE_WIDTH_PT, PAGE_HEIGHT_PT) == (288, 432)


def test_label_text_has_awb_return_id_and_both_postcodes() -> None:
    text = _page_text(render_label(LABEL))

    for expected in ("28491610003452", "RMA-2025-000123", "560038", "580030", "BLR/HBL", "REVERSE PICKUP"):
        assert expected in text


def test_pickup_phone_shows_only_last_four_digits() -> None:
    text = _page_text(render_label(LABEL))

    assert "2345" in text
    assert "98450" not in text


def test_same_input_renders_same_bytes() -> None:
    assert render_label(LABEL) == render_label(dataclasses.replace(LABEL))


def test_long_fields_are_cut_with_an_ellipsis() -> None:
    sprawling = dataclasses.replace(
        PICKUP,
        name="Priya " * 40,
        address_lines=("Flat 4B, Lakeview Apartments, 12th Cross, Indiranagar 2nd Stage",) * 12
        + ("X" * 300,),
    )
    label = dataclasses.replace(LABEL, pickup=sprawling, drop=sprawling, items_summary="Tee, " * 200)

    text = _page_text(render_label(label))

    assert "…" in text
    assert "560038" in text
    assert "Tee, " * 60 not in text


def test_text_outside_latin_renders_without_error() -> None:
    hindi = dataclasses.replace(PICKUP, name="प्रिया राघवन", address_lines=("इंदिरानगर, बेंगलुरु",))

    assert _page_text(render_label(dataclasses.replace(LABEL, pickup=hindi))).count("560038") == 1


def test_label_without_sort_code_renders() -> None:
    text = _page_text(render_label(dataclasses.replace(LABEL, sort_code=None)))

    assert "SORT CODE" not in text
    assert "28491610003452" in text


@pytest.mark.parametrize("awb", ["", "AWB\n1", "डेल्हीवरी"])
def test_awb_that_code128_cannot_carry_is_refused(awb: str) -> None:
    with pytest.raises(ValueError, match="awb"):
        dataclasses.replace(LABEL, awb=awb)


@pytest.mark.parametrize("awb", ["28491610003452", "SF1234567890ABCDEFGH12", "1234567890"])
def test_printed_barcodes_scan_back_to_awb_and_return_id(awb: str, tmp_path: Path) -> None:
    values = _scan(render_label(dataclasses.replace(LABEL, awb=awb)), tmp_path)

    assert awb in values
    assert "RMA-2025-000123" in values
