"""The pure rules of staff search: terms, phone forms, query reading and prefix ranges."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.search import (
    PHONE,
    WORD,
    Query,
    code_range,
    next_prefix,
    normalise_phone,
    parse_query,
    task_terms,
)


@pytest.mark.parametrize("raw", ["0812-1111-2222", "+62 812 1111 2222", "62812.1111.2222",
                                 "(0812) 11112222", "81211112222"])
def test_every_written_form_of_a_phone_becomes_one_national_number(raw: str) -> None:
    """With or without +62, 62 or the trunk 0, and whatever separators, one number."""
    assert normalise_phone(raw) == "81211112222"


def test_terms_are_folded_words_and_the_national_phone() -> None:
    """Accents and punctuation go; words are lower case; the phone is one term of its own."""
    assert task_terms("Sutrisnö O'Neil", "PT. Maju-Jaya", "+62 812 3") == {
        (WORD, "sutrisno"), (WORD, "o"), (WORD, "neil"), (WORD, "pt"), (WORD, "maju"),
        (WORD, "jaya"), (PHONE, "8123")}


@pytest.mark.parametrize(("text", "query"), [
    ("PTSA-20261127-0042", Query(code_prefix="PTSA-20261127-0042")),
    ("ptsa 2026", Query(code_prefix="PTSA-2026")),
    ("20261127-00", Query(code_prefix="PTSA-20261127-00")),
    ("0812 1111", Query(phone_prefix="8121111")),
    ("+62812", Query(phone_prefix="812")),
    ("08121111222", Query(phone_prefix="8121111222")),  # eight digits or more: still a phone
    ("Budi  SANTOSO budi", Query(word_prefixes=("budi", "santoso"))),
    ("123", Query(word_prefixes=("123",))),  # too few digits for a phone
    ("!!", Query()),
])
def test_a_typed_query_is_read_as_number_phone_or_words(text: str, query: Query) -> None:
    """What the desk typed decides which index answers."""
    assert parse_query(text) == query


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6),
       st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", max_size=6))
def test_next_prefix_bounds_exactly_the_words_with_that_prefix(prefix: str, rest: str) -> None:
    """Every a-z0-9 word starting with the prefix is inside [prefix, next); others are not."""
    upper = next_prefix(prefix)
    word = prefix + rest
    assert prefix <= word and (upper is None or word < upper)
    if upper is not None:
        assert not upper.startswith(prefix)


def test_code_ranges_carry_over_nines() -> None:
    """The upper bound of a registration-number prefix carries like a number."""
    assert code_range("PTSA-20261129") == ("PTSA-20261129", "PTSA-2026113")
    assert code_range("PTSA-20261127-") == ("PTSA-20261127", "PTSA-20261128")
    assert code_range("PTSA-") == ("PTSA", None)
