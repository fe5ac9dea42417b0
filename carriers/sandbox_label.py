"""The label PDF a carrier sandbox hands out where the real carrier returns its own label.

It looks like a 4x6 thermal label (carrier, Code128 of the AWB, reference) and says plainly
that it is a sandbox label, so nobody ships a parcel with it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from reportlab.graphics.barcode import code128
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas

_WIDTH, _HEIGHT = 4 * inch, 6 * inch


def sample_label(carrier_name: str, labels: Sequence[tuple[str, str]]) -> bytes:
    """One page per (awb, reference)."""
    buffer = io.BytesIO()
    page = Canvas(buffer, pagesize=(_WIDTH, _HEIGHT), invariant=True)
    for awb, reference in labels:
        page.setFont("Helvetica-Bold", 18)
        page.drawString(18, _HEIGHT - 36, carrier_name)
        page.setFont("Helvetica", 9)
        page.drawRightString(_WIDTH - 18, _HEIGHT - 34, "REVERSE PICKUP")
        page.line(18, _HEIGHT - 46, _WIDTH - 18, _HEIGHT - 46)
        barcode = code128.Code128(awb, barHeight=64, barWidth=1.4, quiet=False)
        barcode.drawOn(page, max(18.0, (_WIDTH - barcode.width) / 2), _HEIGHT - 130)
        page.setFont("Helvetica-Bold", 14)
        page.drawCentredString(_WIDTH / 2, _HEIGHT - 150, awb)
        page.setFont("Helvetica", 10)
        page.drawString(18, _HEIGHT - 180, f"Reference: {reference}")
        page.setFillGray(0.9)
        page.rect(18, 30, _WIDTH - 36, 40, stroke=0, fill=1)
        page.setFillGray(0)
        page.setFont("Helvetica-Bold", 10)
        page.drawCentredString(_WIDTH / 2, 52, "SANDBOX LABEL")
        page.setFont("Helvetica", 8)
        page.drawCentredString(_WIDTH / 2, 40, "Made by Backhaul's local carrier sandbox: not for shipping")
        page.showPage()
    page.save()
    return buffer.getvalue()
