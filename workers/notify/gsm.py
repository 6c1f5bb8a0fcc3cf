"""SMS text rules: the GSM-7 alphabet, message parts, and keeping a warning in one SMS.

A message in the GSM 03.38 alphabet carries 160 septets (153 per part once concatenated, the
user-data header takes the rest); the extension table (``^{}\\[~]|€`` and form feed) costs two
septets a character because it is sent as ESC + code. A single character outside the alphabet
switches the whole message to UCS-2: 70 UTF-16 units, 67 per part. Pure functions, no I/O.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# Characters that office software and phones put into Indonesian text. Accented letters not
# listed here are handled by Unicode decomposition (á -> a) in _transliterate_char.
_TRANSLITERATION = {
    "\u2018": "'", "\u2019": "'", "\u201a": ",", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u00b4": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"', "\u2039": "<", "\u203a": ">",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u2026": "...", "\u2022": "-", "\u00b7": ".", "\u2044": "/", "\u00d7": "x",
    "\u00f7": "/", "\t": " ", "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u3000": " ",
    "\u00ad": "", "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "",
    "\u00a9": "(c)", "\u00ae": "(R)", "\u2122": "TM",
    "\u0142": "l", "\u0141": "L", "\u0111": "d", "\u0110": "D", "\u0131": "i", "\u0153": "oe",
    "\u0152": "OE", "\u00f0": "d", "\u00fe": "th", "\u00de": "Th", "\u00e7": "c",
}


def septets(char: str) -> int:
    """Septets one GSM-7 character costs: 2 for the extension table, else 1."""
    return 2 if char in GSM7_EXTENSION else 1


def utf16_units(char: str) -> int:
    """UTF-16 code units of one code point: 2 for astral characters such as emoji."""
    return 2 if ord(char) > 0xFFFF else 1


def is_gsm7(text: str) -> bool:
    """True when every character can be sent in the GSM-7 alphabet (basic or extension)."""
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def gsm7_length(text: str) -> int:
    """Septets the text takes in GSM-7; only meaningful when ``is_gsm7(text)``."""
    return sum(septets(char) for char in text)


def sms_parts(text: str) -> list[str]:
    """Split text the way a handset counts it: whole characters, never half an escape or emoji.

    One part when it fits a single message (160 septets or 70 UTF-16 units), otherwise parts
    of at most 153 septets or 67 units. Joining the parts gives back the text.
    """
    if is_gsm7(text):
        return _split(text, septets, GSM7_SINGLE, GSM7_PART)
    return _split(text, utf16_units, UCS2_SINGLE, UCS2_PART)


def _split(text: str, weight: Callable[[str], int], single: int, part: int) -> list[str]:
    if sum(weight(char) for char in text) <= single:
        return [text]
    parts: list[str] = []
    start, used = 0, 0
    for index, char in enumerate(text):
        cost = weight(char)
        if used + cost > part:
            parts.append(text[start:index])
            start, used = index, 0
        used += cost
    parts.append(text[start:])
    return parts


def to_gsm7_friendly(text: str) -> str:
    """Replace typographic punctuation, odd spaces and foreign accents with GSM-7 look-alikes.

    Characters with no sensible replacement (emoji, non-Latin scripts) are kept, so the result
    is GSM-7 only when the input was Latin text; ``fit_single_sms`` guarantees it.
    """
    return "".join(_transliterate_char(char) for char in text)


def _transliterate_char(char: str) -> str:
    if char in GSM7_BASIC or char in GSM7_EXTENSION:
        return char
    if char in _TRANSLITERATION:
        return _TRANSLITERATION[char]
    # NFKD turns á into a + combining acute, ﬁ into fi, ² into 2; drop the combining marks.
    decomposed = "".join(
        _TRANSLITERATION.get(piece, piece)
        for piece in unicodedata.normalize("NFKD", char)
        if not unicodedata.combining(piece)
    )
    return decomposed if decomposed and is_gsm7(decomposed) else char


def fit_single_sms(text: str, limit: int = GSM7_SINGLE) -> str:
    """Make text one GSM-7 message of at most ``limit`` septets.

    Transliterates, replaces what is still outside GSM-7 with ``?``, and when too long cuts at
    a word boundary near the limit and ends with ``...``.

    Raises:
        ValueError: ``limit`` leaves no room for the ``...`` marker.
    """
    if limit < 4:
        raise ValueError(f"limit must be at least 4 septets; got {limit}")
    friendly = "".join(char if is_gsm7(char) else "?" for char in to_gsm7_friendly(text))
    if gsm7_length(friendly) <= limit:
        return friendly
    budget, used, end = limit - 3, 0, 0
    while used + septets(friendly[end]) <= budget:
        used += septets(friendly[end])
        end += 1
    cut = friendly[:end]
    # Cutting inside a word can turn "2024/0153" into a different registration number.
    if not friendly[end].isspace():
        space = max(cut.rfind(" "), cut.rfind("\n"))
        if space >= len(cut) - 20 and space > 0:
            cut = cut[:space]
    return cut.rstrip() + "..."

