"""GSM-7 alphabet, SMS part splitting and single-SMS fitting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.notify.gsm import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    fit_single_sms,
    gsm7_length,
    is_gsm7,
    sms_parts,
    to_gsm7_friendly,
    utf16_units,
)

WARNING_ID = (
    "Peringatan: batas waktu terlampaui. Permohonan 2024/0153 (pengesahan PP) belum diambil "
    "di P1 Ditjen PHI & Jamsos lebih dari 15 menit. Mohon tindak lanjut penyelia."
)


def test_plain_indonesian_text_is_gsm7() -> None:
    """Indonesian text in plain Latin letters and punctuation is GSM-7."""
    assert is_gsm7(WARNING_ID)


def test_one_non_gsm_character_makes_text_ucs2() -> None:
    """A single typographic quote, emoji or accent outside the alphabet rules out GSM-7."""
    assert not is_gsm7("Permohonan \u201cselesai\u201d")
    assert not is_gsm7("Selesai \U0001f642")
    assert not is_gsm7("caf\u00e1")


def test_extension_characters_are_gsm7_and_cost_two_septets() -> None:
    """Extension-table characters belong to GSM-7 but count as two septets each."""
    assert is_gsm7("^{}\\[~]|\u20ac\f")
    assert gsm7_length("\u20ac5") == 3
    assert gsm7_length("[x]") == 5


def test_escape_character_itself_is_not_text() -> None:
    """The ESC code is the extension prefix, not a character a message may contain."""
    assert not is_gsm7("\x1b")


def test_160_gsm7_characters_fit_one_message() -> None:
    """Exactly 160 septets stay a single part."""
    assert sms_parts("a" * 160) == ["a" * 160]


def test_161_gsm7_characters_split_into_153_and_8() -> None:
    """One septet over the single limit concatenates into 153-septet parts."""
    assert sms_parts("a" * 161) == ["a" * 153, "a" * 8]


def test_306_and_307_characters_need_two_and_three_parts() -> None:
    """Two concatenated parts hold 306 septets; the 307th starts a third part."""
    assert [len(p) for p in sms_parts("b" * 306)] == [153, 153]
    assert [len(p) for p in sms_parts("b" * 307)] == [153, 153, 1]


def test_extension_character_counts_two_toward_single_limit() -> None:
    """159 letters plus a euro sign is 161 septets and so needs two parts."""
    assert sms_parts("a" * 158 + "\u20ac") == ["a" * 158 + "\u20ac"]
    assert len(sms_parts("a" * 159 + "\u20ac")) == 2


def test_extension_character_is_not_split_across_parts() -> None:
    """An escape pair that would straddle the 153-septet boundary moves whole to the next part."""
    text = "a" * 152 + "{" + "a" * 20
    parts = sms_parts(text)
    assert parts == ["a" * 152, "{" + "a" * 20]
    assert all(gsm7_length(part) <= 153 for part in parts)


def test_70_ucs2_units_fit_one_message_and_71_split_by_67() -> None:
    """UCS-2 text holds 70 units in one message and 67 per concatenated part."""
    assert sms_parts("\u00e1" * 70) == ["\u00e1" * 70]
    assert [len(p) for p in sms_parts("\u00e1" * 71)] == [67, 4]


def test_emoji_counts_two_units_and_is_not_split() -> None:
    """An emoji takes a surrogate pair, and a part never ends between its halves."""
    smile = "\U0001f642"
    assert sms_parts("x" * 68 + smile) == ["x" * 68 + smile]
    assert len(sms_parts("x" * 69 + smile)) == 2
    parts = sms_parts("x" * 66 + smile + "y" * 10)
    assert parts == ["x" * 66, smile + "y" * 10]


def test_empty_text_is_one_empty_part() -> None:
    """An empty text is a single, empty message."""
    assert sms_parts("") == [""]


def test_transliteration_keeps_office_punctuation_in_gsm7() -> None:
    """Curly quotes, dashes, ellipsis and non-breaking spaces from word processors become ASCII."""
    text = ("\u201cBerkas tidak lengkap\u201d \u2013 pemohon\u2019s berkas\u2026 "
            "lihat\u00a0loket\u20143")
    friendly = to_gsm7_friendly(text)
    assert friendly == "\"Berkas tidak lengkap\" - pemohon's berkas... lihat loket-3"
    assert is_gsm7(friendly)


def test_transliteration_drops_accents_outside_gsm_but_keeps_those_inside() -> None:
    """á and ç lose their marks; é, ü and ñ are in the alphabet and stay."""
    assert to_gsm7_friendly("S\u00e1nchez \u00e7a \u00e9t\u00e9 M\u00fcller Pe\u00f1a") == (
        "Sanchez ca \u00e9t\u00e9 M\u00fcller Pe\u00f1a"
    )


def test_transliteration_keeps_characters_it_cannot_replace() -> None:
    """Emoji and non-Latin scripts are left alone rather than silently dropped."""
    assert to_gsm7_friendly("OK \U0001f642") == "OK \U0001f642"


def test_fit_single_sms_returns_short_text_unchanged_after_transliteration() -> None:
    """A short warning only has its typography normalised."""
    assert fit_single_sms("Tenggat \u2018P1\u2019 terlampaui") == "Tenggat 'P1' terlampaui"


def test_fit_single_sms_cuts_long_text_at_a_word_with_dots() -> None:
    """A long warning is cut at a word boundary to at most 160 septets and ends with '...'."""
    fitted = fit_single_sms(WARNING_ID + " " + WARNING_ID)
    assert is_gsm7(fitted) and gsm7_length(fitted) <= 160
    assert fitted.endswith("...")
    assert (WARNING_ID + " " + WARNING_ID).startswith(fitted[:-3])
    assert not fitted[:-3].endswith(" ")


def test_fit_single_sms_replaces_untranslatable_characters() -> None:
    """What cannot become GSM-7 turns into '?' so the message never falls back to UCS-2."""
    assert fit_single_sms("Selesai \U0001f642") == "Selesai ?"


def test_fit_single_sms_respects_extension_costs_at_the_limit() -> None:
    """Extension characters near the cut count double, so the result stays within the limit."""
    fitted = fit_single_sms("{" * 100, limit=20)
    assert fitted == "{" * 8 + "..." and gsm7_length(fitted) == 19


def test_fit_single_sms_rejects_a_limit_without_room_for_dots() -> None:
    """A limit below four septets cannot hold any text plus the marker."""
    with pytest.raises(ValueError, match="at least 4"):
        fit_single_sms("abc", limit=3)


_ALPHABET = st.sampled_from(
    sorted(GSM7_BASIC) + sorted(GSM7_EXTENSION) + ["\u00e1", "\u2019", "\U0001f642", "\u4e2d"]
)


@given(st.text(alphabet=_ALPHABET, max_size=700))
def test_parts_join_back_and_each_fits_its_limit(text: str) -> None:
    """Joining the parts gives the text back, and every part is within its encoding's limit."""
    parts = sms_parts(text)
    assert "".join(parts) == text
    if is_gsm7(text):
        limit = 160 if len(parts) == 1 else 153
        assert all(gsm7_length(part) <= limit for part in parts)
    else:
        limit = 70 if len(parts) == 1 else 67
        assert all(sum(utf16_units(c) for c in part) <= limit for part in parts)


@given(st.text(max_size=400), st.integers(min_value=4, max_value=160))
def test_fit_single_sms_always_yields_one_gsm7_message(text: str, limit: int) -> None:
    """Whatever the input, the fitted text is GSM-7 and within the limit."""
    fitted = fit_single_sms(text, limit)
    assert is_gsm7(fitted) and gsm7_length(fitted) <= limit
