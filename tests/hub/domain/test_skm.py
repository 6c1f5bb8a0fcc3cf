"""The IKM arithmetic of PermenPANRB 14/2017 against figures worked out by hand."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from hub.domain.skm import (
    ELEMENTS,
    InvalidAnswers,
    band,
    check_answers,
    convert,
    index,
    min_sample,
    nrr,
)

# Four questionnaires in the shape of the regulation's tabulation sheet (one row a respondent,
# one column an element). By hand: element sums 14 12 11 16 13 13 15 10 11, so NRR
# 3.50 3.00 2.75 4.00 3.25 3.25 3.75 2.50 2.75; their sum 28.75; x 1/9 = 3.1944; x 25 = 79.86: B.
SHEET = [
    (4, 4, 3, 4, 3, 3, 4, 2, 3),
    (3, 3, 3, 4, 3, 4, 4, 3, 3),
    (3, 2, 2, 4, 3, 3, 3, 3, 2),
    (4, 3, 3, 4, 4, 3, 4, 2, 3),
]


def test_the_regulation_has_nine_elements_each_with_four_labels() -> None:
    """The questionnaire asks the nine unsur in the regulation's order, each on four labels."""
    assert [e.key for e in ELEMENTS] == ["persyaratan", "prosedur", "waktu", "biaya", "produk",
                                        "kompetensi", "perilaku", "pengaduan", "sarana"]
    assert all(len(e.labels) == 4 for e in ELEMENTS)
    assert ELEMENTS[3].labels == ("Sangat mahal", "Cukup mahal", "Murah", "Gratis")


def test_nrr_is_the_element_sum_over_the_questionnaires_filled_in() -> None:
    """Each element's NRR is its sum divided by the number of questionnaires."""
    assert nrr(SHEET) == tuple(Fraction(s, 4) for s in (14, 12, 11, 16, 13, 13, 15, 10, 11))


def test_the_worked_sheet_gives_79_86_and_mutu_b() -> None:
    """The hand-computed sheet converts to 79.86, band B (baik)."""
    result = index(SHEET)
    assert result.respondents == 4
    assert result.elements == (3.5, 3.0, 2.75, 4.0, 3.25, 3.25, 3.75, 2.5, 2.75)
    assert result.ikm == 79.86
    assert (result.mutu, result.label) == ("B", "Baik")


def test_all_fours_give_exactly_100_and_all_ones_exactly_25() -> None:
    """The exact ninth weight maps the scale's ends onto 100.00 and 25.00."""
    assert index([(4,) * 9]).ikm == 100.0
    assert index([(4,) * 9]).mutu == "A"
    assert index([(1,) * 9]).ikm == 25.0
    assert index([(1,) * 9]).mutu == "D"


def test_a_single_three_everywhere_is_75_and_kurang_baik() -> None:
    """Three on every element is 3.00 x 25 = 75.00, inside C (65.00-76.60)."""
    assert convert([Fraction(3)] * 9) == Decimal("75.00")
    assert index([(3,) * 9]).mutu == "C"


@pytest.mark.parametrize(("value", "mutu"), [
    ("100.00", "A"), ("88.31", "A"), ("88.30", "B"), ("76.61", "B"), ("76.60", "C"),
    ("65.00", "C"), ("64.99", "D"), ("25.00", "D"), ("88.305", "A"), ("88.304", "B"),
])
def test_band_edges_follow_the_regulation_table(value: str, mutu: str) -> None:
    """Each interval's edges fall in the band the regulation's table gives them."""
    assert band(value)[0] == mutu


@pytest.mark.parametrize("value", ["24.99", "100.01"])
def test_a_value_outside_25_to_100_is_refused(value: str) -> None:
    """A converted value outside the scale is a bug, not a band."""
    with pytest.raises(ValueError):
        band(value)


def test_no_respondents_give_no_index() -> None:
    """Without respondents there is no IKM and no mutu."""
    result = index([])
    assert (result.respondents, result.ikm, result.mutu) == (0, None, None)


@pytest.mark.parametrize(("population", "sample"), [
    (0, 0), (7, 7), (10, 10), (100, 80), (101, 86), (110, 86), (1000, 278), (1001, 285),
    (100000, 384), (2_000_000, 384),
])
def test_min_sample_follows_the_krejcie_morgan_table(population: int, sample: int) -> None:
    """The minimum sample is the table's row for the population, rounding up between rows."""
    assert min_sample(population) == sample


@pytest.mark.parametrize("answers", [
    [4] * 8, [4] * 10, [0] + [4] * 8, [5] + [4] * 8, ["4"] * 9, [True] * 9, [3.5] * 9, "444444444",
])
def test_answers_must_be_nine_integers_from_one_to_four(answers: object) -> None:
    """Anything but nine integers 1-4 is refused with a reason."""
    with pytest.raises(InvalidAnswers):
        check_answers(answers)
