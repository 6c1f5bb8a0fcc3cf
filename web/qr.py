"""The receipt's QR code of the tracking link, drawn on the server as inline SVG by ``segno``
(pure Python, no network, prints sharply at any size)."""

from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(url: str, title: str) -> Markup:
    """An ``<svg>`` QR code of ``url`` (error correction M: survives a crease in the paper)."""
    code = segno.make(url, error="m", micro=False)
    svg = code.svg_inline(scale=4, border=2, title=title, svgclass="qr", lineclass=None)
    return Markup(svg)  # segno's own markup; the URL is encoded in the modules, not the text
