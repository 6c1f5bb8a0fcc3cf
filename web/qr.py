"""QR codes of our links (the receipt's tracking link, the ticket slip's status link, the survey
link), drawn on the server as inline SVG by ``segno`` (pure Python, no network, no script,
prints sharply at any size). The one place that sets how they look."""

from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(url: str, title: str | None = None, *, scale: int = 4) -> Markup:
    """An ``<svg class="qr">`` QR code of ``url`` (error correction M: survives a crease in the
    paper), ``scale`` pixels a module, with a ``<title>`` when given."""
    code = segno.make(url, error="m", micro=False)
    svg = code.svg_inline(scale=scale, border=2, title=title, svgclass="qr", lineclass=None)
    return Markup(svg)  # segno's own markup; the URL is encoded in the modules, not the text
