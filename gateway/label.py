"""Return shipping labels: one 4x6 inch PDF page for a carrier's thermal label printer.

The page, top to bottom: carrier and "REVERSE PICKUP" header; the AWB as a Code 128
barcode sized to the page; weight, date and the carrier's sort code; FROM (the customer
the courier collects from); TO (the merchant's return address); contents and merchant;
a smaller Code 128 of our return id. Text is wrapped to its box and cut with an
ellipsis past a fixed number of lines, so no input can push one block into the next.

Fonts are the PDF standard Helvetica faces (no font files to ship), which cover Latin
text only: characters outside it print as blanks or boxes.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

PAGE_WIDTH_PT = 4 * inch
PAGE_HEIGHT_PT = 6 * inch

_FONT = "Helvetica"
_BOLD = "Helvetica-Bold"
_ELLIPSIS = "…"
_BORDER_PT = 6.0
_PAD_PT = 8.0
_LEFT = _BORDER_PT + _PAD_PT
_TEXT_WIDTH_PT = PAGE_WIDTH_PT - 2 * _LEFT
# Most thermal label printers are 203 dpi. A module a whole number of printer dots wide
# prints every bar the same width; a fractional one leaves some bars a dot fatter.
_PRINTER_DOT_PT = 72 / 203
_QUIET_MODULES = 10  # Code 128 needs ten modules of white either side to be found.
_MAX_MODULE_DOTS = 5  # wider than this gains no scan range, only a barcode past the border
_FROM_HEIGHT_PT = 74.0
_TO_HEIGHT_PT = 88.0
_BARCODE_TEXT = re.compile(r"[\x20-\x7e]{1,40}")


@dataclass(frozen=True, slots=True)
class LabelParty:
    """One end of the return trip: who, where, and (for the pickup) a phone."""

    name: str
    address_lines: tuple[str, ...]
    postcode: str
    phone: str = ""

    @property
    def masked_phone(self) -> str:
        """The phone with all but its last four digits hidden, or "" without one."""
        digits = re.sub(r"\D", "", self.phone)
        return f"******{digits[-4:]}" if len(digits) >= 4 else ""


@dataclass(frozen=True, slots=True)
class LabelData:
    """Everything printed on a reverse-pickup label."""

    awb: str
    carrier_name: str
    return_id: str
    merchant_name: str
    pickup: LabelParty
    drop: LabelParty
    weight_g: int
    created_at: date
    items_summary: str
    sort_code: str | None = None

    def __post_init__(self) -> None:
        for field_name in ("awb", "return_id"):
            if not _BARCODE_TEXT.fullmatch(getattr(self, field_name)):
                raise ValueError(f"{field_name} must be 1-40 printable ASCII characters for Code 128")
        if self.weight_g <= 0:
            raise ValueError("weight_g must be positive")


def render_label(data: LabelData) -> bytes:
    """Render `data` as a one-page 4x6 inch PDF; the same data gives the same bytes."""
    buffer = io.BytesIO()
    # invariant=1 fixes the creation date and document id, which would change every render.
    canvas = Canvas(buffer, pagesize=(PAGE_WIDTH_PT, PAGE_HEIGHT_PT), invariant=1, pageCompression=1)
    canvas.setTitle(f"Return label {data.awb}")
    canvas.setAuthor("Backhaul")
    canvas.setLineWidth(1.2)
    canvas.rect(_BORDER_PT, _BORDER_PT, PAGE_WIDTH_PT - 2 * _BORDER_PT, PAGE_HEIGHT_PT - 2 * _BORDER_PT)
    top = PAGE_HEIGHT_PT - _BORDER_PT
    for draw_section in (_draw_header, _draw_awb, _draw_routing, _draw_from, _draw_to):
        top = draw_section(canvas, data, top)
        _rule(canvas, top)
    _draw_footer(canvas, data, top)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_header(canvas: Canvas, data: LabelData, top: float) -> float:
    height = 30.0
    tag, tag_size = "REVERSE PICKUP", 10.0
    tag_width = _text_width(tag, _BOLD, tag_size) + 12
    tag_left = PAGE_WIDTH_PT - _BORDER_PT - tag_width
    canvas.rect(tag_left, top - height, tag_width, height, stroke=0, fill=1)
    canvas.setFillGray(1)
    canvas.setFont(_BOLD, tag_size)
    canvas.drawCentredString(tag_left + tag_width / 2, top - height / 2 - 3.5, tag)
    canvas.setFillGray(0)
    carrier = _fit_lines(data.carrier_name.upper(), _BOLD, 15, tag_left - _LEFT - _PAD_PT, 1)
    canvas.setFont(_BOLD, 15)
    canvas.drawString(_LEFT, top - height / 2 - 5, carrier[0])
    return top - height


def _draw_awb(canvas: Canvas, data: LabelData, top: float) -> float:
    bar_height = 70.0
    available = PAGE_WIDTH_PT - 2 * (_BORDER_PT + 2)
    barcode = _code128(data.awb, available, bar_height, _MAX_MODULE_DOTS)
    canvas.setFont(_FONT, 6.5)
    canvas.drawString(_LEFT, top - 9, "AWB")
    barcode.drawOn(canvas, (PAGE_WIDTH_PT - barcode.width) / 2, top - 12 - bar_height)
    # Shrink rather than cut: a person keys this in when the barcode will not scan.
    canvas.setFont(_BOLD, _fitting_size(data.awb, _BOLD, 15, available))
    canvas.drawCentredString(PAGE_WIDTH_PT / 2, top - 12 - bar_height - 16, data.awb)
    return top - 12 - bar_height - 24


def _draw_routing(canvas: Canvas, data: LabelData, top: float) -> float:
    height = 44.0
    split = _LEFT + 108
    facts = (("WEIGHT", _format_weight(data.weight_g)), ("DATE", data.created_at.isoformat()))
    for row, (key, value) in enumerate(facts):
        baseline = top - 17 - row * 15
        canvas.setFont(_FONT, 7)
        canvas.drawString(_LEFT, baseline, key)
        canvas.setFont(_BOLD, 10)
        canvas.drawString(_LEFT + 34, baseline, value)
    if data.sort_code:
        canvas.line(split, top, split, top - height)
        canvas.setFont(_FONT, 6.5)
        canvas.drawString(split + _PAD_PT, top - 9, "SORT CODE")
        centre = (split + PAGE_WIDTH_PT - _BORDER_PT) / 2
        width = PAGE_WIDTH_PT - _BORDER_PT - split - 2 * _PAD_PT
        canvas.setFont(_BOLD, _fitting_size(data.sort_code, _BOLD, 26, width))
        canvas.drawCentredString(centre, top - height + 8, data.sort_code)
    return top - height


def _draw_from(canvas: Canvas, data: LabelData, top: float) -> float:
    party = data.pickup
    y = _heading(canvas, "FROM (PICKUP)", top)
    y = _text_block(canvas, party.name, _BOLD, 10, y, max_lines=1)
    _text_block(canvas, ", ".join(party.address_lines), _FONT, 8.5, y, max_lines=3)
    contact = f"PIN {party.postcode}"
    if party.masked_phone:
        contact += f"  ·  Ph {party.masked_phone}"
    # Fixed heights keep every label's zones in the same place, whatever the address length.
    _text_block(canvas, contact, _BOLD, 9, top - _FROM_HEIGHT_PT + 9 * 1.2 + 3, max_lines=1)
    return top - _FROM_HEIGHT_PT


def _draw_to(canvas: Canvas, data: LabelData, top: float) -> float:
    party = data.drop
    y = _heading(canvas, "RETURN TO", top)
    y = _text_block(canvas, party.name, _BOLD, 11, y, max_lines=1)
    _text_block(canvas, ", ".join(party.address_lines), _FONT, 10, y, max_lines=3)
    _text_block(canvas, f"PIN {party.postcode}", _BOLD, 14, top - _TO_HEIGHT_PT + 14 * 1.2 + 3, max_lines=1)
    return top - _TO_HEIGHT_PT


def _draw_footer(canvas: Canvas, data: LabelData, top: float) -> None:
    y = _text_block(canvas, f"Merchant: {data.merchant_name}", _FONT, 7.5, top - 3, max_lines=1)
    y = _text_block(canvas, f"Contents: {data.items_summary}", _FONT, 7.5, y, max_lines=2)
    bar_height = 28.0
    bottom = _BORDER_PT + 4
    barcode = _code128(data.return_id, _TEXT_WIDTH_PT * 0.75, bar_height, 2)
    canvas.setFont(_BOLD, 8)
    canvas.drawCentredString(PAGE_WIDTH_PT / 2, bottom, f"RETURN {data.return_id}")
    barcode.drawOn(canvas, (PAGE_WIDTH_PT - barcode.width) / 2, bottom + 10)


def _code128(value: str, max_width_pt: float, bar_height_pt: float, max_module_dots: int) -> Code128:
    """A Code 128 of `value`, quiet zones included, as wide as fits in `max_width_pt`."""
    modules = Code128(value, barWidth=1, quiet=0).width + 2 * _QUIET_MODULES
    dots = min(math.floor(max_width_pt / modules / _PRINTER_DOT_PT), max_module_dots)
    # Under two dots a module is too thin to print cleanly; fill the width instead.
    module = dots * _PRINTER_DOT_PT if dots >= 2 else max_width_pt / modules
    quiet = _QUIET_MODULES * module
    return Code128(
        value, barWidth=module, barHeight=bar_height_pt, lquiet=quiet, rquiet=quiet, humanReadable=0
    )


def _rule(canvas: Canvas, y: float) -> None:
    canvas.line(_BORDER_PT, y, PAGE_WIDTH_PT - _BORDER_PT, y)


def _heading(canvas: Canvas, text: str, top: float) -> float:
    canvas.setFont(_BOLD, 7)
    canvas.drawString(_LEFT, top - 10, text)
    return top - 12


def _text_block(canvas: Canvas, text: str, font: str, size: float, top: float, max_lines: int) -> float:
    """Draw `text` wrapped to the label's width below `top`; return the y under it."""
    leading = size * 1.2
    canvas.setFont(font, size)
    y = top
    for line in _fit_lines(text, font, size, _TEXT_WIDTH_PT, max_lines):
        y -= leading
        canvas.drawString(_LEFT, y + size * 0.2, line)
    return y


def _fit_lines(text: str, font: str, size: float, width_pt: float, max_lines: int) -> list[str]:
    """Wrap `text` to `width_pt`, breaking inside words too long for a line; cut with "…"."""

    def fits(candidate: str) -> bool:
        return _text_width(candidate, font, size) <= width_pt

    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if fits(candidate):
            current = candidate
            continue
        if current:
            lines.append(current)
        while not fits(word):
            cut = max(1, _longest_fitting_prefix(word, fits))
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    if len(lines) <= max_lines:
        return lines or [""]
    last = lines[max_lines - 1]
    while last and not fits(last.rstrip(" ,") + _ELLIPSIS):
        last = last[:-1]
    return [*lines[: max_lines - 1], last.rstrip(" ,") + _ELLIPSIS]


def _longest_fitting_prefix(word: str, fits: Callable[[str], bool]) -> int:
    length = len(word)
    while length > 1 and not fits(word[:length]):
        length -= 1
    return length


def _fitting_size(text: str, font: str, max_size: float, width_pt: float) -> float:
    """The largest font size up to `max_size` at which `text` fits on one line of `width_pt`."""
    return min(max_size, max_size * width_pt / max(_text_width(text, font, max_size), 1.0))


def _text_width(text: str, font: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(text, font, size))


def _format_weight(weight_g: int) -> str:
    return f"{weight_g} g" if weight_g < 1000 else f"{weight_g / 1000:.2f} kg"
