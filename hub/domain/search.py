"""What a staff search means, without I/O: the terms a request is found by, and how a typed query
turns into prefix ranges over those terms.

A request is indexed by the words of its applicant's name and organisation and by its phone in
national form (``+62 812-1111-2222``, ``62812…`` and ``0812…`` all become ``81211112222``), so
``0812`` finds ``+62812…`` and the other way round. Terms hold only ``a-z`` and ``0-9``: with no
punctuation, a prefix range ``[prefix, next(prefix))`` selects the same rows under any database
collation (SQLite's binary one, PostgreSQL's ``C`` or a locale such as ``en_US``), so an ordinary
B-tree index answers it on both engines.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

WORD = "w"  # a word of the applicant's name or organisation
PHONE = "p"  # the applicant's phone, national form
MAX_TERM = 40
MAX_WORDS = 5  # of a query; more words narrow nothing useful and cost a join each

_CODE = re.compile(r"^\d{8}-\d{0,4}$")
_PHONE_QUERY = re.compile(r"^\+?[0-9][0-9 .\-]*$")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise_phone(raw: str) -> str:
    """Digits of an Indonesian phone number without the country or trunk prefix."""
    digits = re.sub(r"\D", "", raw or "")
    if digits.startswith("62"):
        return digits[2:]
    return digits[1:] if digits.startswith("0") else digits


def words(text: str) -> list[str]:
    """Lower-case ``a-z0-9`` words (accents dropped: ``Sutrisnö`` → ``sutrisno``)."""
    folded = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return [w[:MAX_TERM] for w in _NOT_ALNUM.split(folded.lower()) if w]


def task_terms(name: str, organisation: str, phone: str) -> set[tuple[str, str]]:
    """The (kind, term) pairs a request is found by."""
    terms = {(WORD, w) for w in words(name) + words(organisation)}
    national = normalise_phone(phone)
    if national:
        terms.add((PHONE, national[:MAX_TERM]))
    return terms


def next_prefix(prefix: str) -> str | None:
    """The smallest ``a-z0-9`` string after every string starting with ``prefix``; None when
    there is none (``zz…``). ``9`` is followed by ``a`` in every collation we meet."""
    chars = list(prefix)
    while chars:
        last = chars.pop()
        if last == "z":
            continue
        chars.append("a" if last == "9" else chr(ord(last) + 1))
        return "".join(chars)
    return None


def code_range(prefix: str) -> tuple[str, str | None]:
    """Bounds of the registration numbers starting with ``prefix`` (``PTSA-2026112``). The
    numbers share one shape, so carrying over the last digit orders the same in every
    collation."""
    prefix = prefix.rstrip("-")
    chars = list(prefix)
    while chars and chars[-1] in "9-":
        chars.pop()
    if not chars or not chars[-1].isdigit():
        return prefix, None
    chars[-1] = chr(ord(chars[-1]) + 1)
    return prefix, "".join(chars)


@dataclass(frozen=True)
class Query:
    """A parsed search: a registration-number prefix, a phone prefix, or word prefixes (all of
    which must match)."""

    code_prefix: str = ""
    phone_prefix: str = ""
    word_prefixes: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.code_prefix or self.phone_prefix or self.word_prefixes)


def parse_query(text: str) -> Query:
    """Read what a desk typed: ``PTSA-20261127-0042`` or ``20261127-00`` (registration number),
    ``0812 1111`` or ``+62812`` (phone, at least four digits), else words of a name or
    organisation."""
    text = (text or "").strip()
    if _CODE.match(text):
        return Query(code_prefix=f"PTSA-{text}")
    if text.upper().startswith("PTSA"):
        rest = text[4:].lstrip("- ")
        return Query(code_prefix=f"PTSA-{rest}".upper())
    if _PHONE_QUERY.match(text) and len(re.sub(r"\D", "", text)) >= 4:
        return Query(phone_prefix=normalise_phone(text))
    return Query(word_prefixes=tuple(dict.fromkeys(words(text)))[:MAX_WORDS])
