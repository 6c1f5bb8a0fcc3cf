"""Survei Kepuasan Masyarakat arithmetic: the nine elements, the IKM and its quality band. Pure.

Source: Peraturan Menteri PANRB Nomor 14 Tahun 2017 tentang Pedoman Penyusunan Survei Kepuasan
Masyarakat Unit Penyelenggara Pelayanan Publik, Lampiran:

- Bab II (ruang lingkup): the nine elements (unsur) a-i, in the order of ``ELEMENTS`` below; the
  contract's ``answers`` list follows that order.
- Lampiran, contoh kuesioner: each element is answered on four points (a..d = 1..4) with its own
  labels (``Element.labels``); the respondent profile asks umur, jenis kelamin, pendidikan and
  pekerjaan (``PROFILE_CHOICES``).
- Bab IV (metode pengolahan data): every element carries the same weight, "jumlah bobot / jumlah
  unsur = 1/9" (the text rounds it to 0.11; we keep the exact ninth, so four on every element
  gives exactly 100). NRR per element = sum of the element's values / number of questionnaires
  filled in; IKM = sum of NRR x 1/9; the index shown is IKM x 25 (the "nilai konversi", 25-100).
- Tabel nilai persepsi, interval IKM, interval konversi IKM, mutu pelayanan:
  1  1,00-2,5996  25,00-64,99  D (tidak baik)
  2  2,60-3,064   65,00-76,60  C (kurang baik)
  3  3,0644-3,532 76,61-88,30  B (baik)
  4  3,5324-4,00  88,31-100,00 A (sangat baik)
  The band is read on the converted value rounded to two decimals (the table's resolution,
  half-up), so 88.305 is A and 88.304 is B.
- Bab III (teknik sampling): the minimum number of respondents for a population served is the
  Krejcie and Morgan table the guidance reproduces (``MIN_SAMPLE``); between two rows we take the
  larger population's sample, which never asks for fewer than the table.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Literal

Mutu = Literal["A", "B", "C", "D"]
SCALE = (1, 2, 3, 4)
CONVERSION = 25


@dataclass(frozen=True)
class Element:
    key: str
    name: str  # the regulation's own name of the unsur
    question: str  # the sample questionnaire's question
    labels: tuple[str, str, str, str]  # answers 1..4


ELEMENTS: tuple[Element, ...] = (
    Element("persyaratan", "Persyaratan",
            "Bagaimana pendapat Saudara tentang kesesuaian persyaratan pelayanan dengan jenis "
            "pelayanannya?",
            ("Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai")),
    Element("prosedur", "Sistem, mekanisme, dan prosedur",
            "Bagaimana pemahaman Saudara tentang kemudahan prosedur pelayanan di unit ini?",
            ("Tidak mudah", "Kurang mudah", "Mudah", "Sangat mudah")),
    Element("waktu", "Waktu penyelesaian",
            "Bagaimana pendapat Saudara tentang kecepatan waktu dalam memberikan pelayanan?",
            ("Tidak cepat", "Kurang cepat", "Cepat", "Sangat cepat")),
    Element("biaya", "Biaya/tarif",
            "Bagaimana pendapat Saudara tentang kewajaran biaya/tarif dalam pelayanan?",
            ("Sangat mahal", "Cukup mahal", "Murah", "Gratis")),
    Element("produk", "Produk spesifikasi jenis pelayanan",
            "Bagaimana pendapat Saudara tentang kesesuaian produk pelayanan antara yang "
            "tercantum dalam standar pelayanan dengan hasil yang diberikan?",
            ("Tidak sesuai", "Kurang sesuai", "Sesuai", "Sangat sesuai")),
    Element("kompetensi", "Kompetensi pelaksana",
            "Bagaimana pendapat Saudara tentang kompetensi/kemampuan petugas dalam pelayanan?",
            ("Tidak kompeten", "Kurang kompeten", "Kompeten", "Sangat kompeten")),
    Element("perilaku", "Perilaku pelaksana",
            "Bagaimana pendapat Saudara tentang perilaku petugas dalam pelayanan terkait "
            "kesopanan dan keramahan?",
            ("Tidak sopan dan ramah", "Kurang sopan dan ramah", "Sopan dan ramah",
             "Sangat sopan dan ramah")),
    Element("pengaduan", "Penanganan pengaduan, saran dan masukan",
            "Bagaimana pendapat Saudara tentang penanganan pengaduan pengguna layanan?",
            ("Tidak ada", "Ada tetapi tidak berfungsi", "Berfungsi kurang maksimal",
             "Dikelola dengan baik")),
    Element("sarana", "Sarana dan prasarana",
            "Bagaimana pendapat Saudara tentang kualitas sarana dan prasarana?",
            ("Buruk", "Cukup", "Baik", "Sangat baik")),
)
WEIGHT = Fraction(1, len(ELEMENTS))

# The questionnaire's profile block; every field optional. Keys are what the API accepts.
PROFILE_CHOICES: dict[str, tuple[str, ...]] = {
    "age_group": ("<20", "20-29", "30-39", "40-49", "50-59", "60+"),
    "sex": ("L", "P"),
    "education": ("SD", "SMP", "SMA", "D1-D3", "D4-S1", "S2+"),
    "occupation": ("PNS", "TNI", "POLRI", "SWASTA", "WIRAUSAHA", "LAINNYA"),
}

# (lower bound of the converted value, mutu, the regulation's label)
BANDS: tuple[tuple[Decimal, Mutu, str], ...] = (
    (Decimal("88.31"), "A", "Sangat baik"),
    (Decimal("76.61"), "B", "Baik"),
    (Decimal("65.00"), "C", "Kurang baik"),
    (Decimal("25.00"), "D", "Tidak baik"),
)

# Krejcie & Morgan (1970) as reproduced in the regulation's sampling guidance: population -> sample.
MIN_SAMPLE: tuple[tuple[int, int], ...] = (
    (10, 10), (15, 14), (20, 19), (25, 24), (30, 28), (35, 32), (40, 36), (45, 40), (50, 44),
    (55, 48), (60, 52), (65, 56), (70, 59), (75, 63), (80, 66), (85, 70), (90, 73), (95, 76),
    (100, 80), (110, 86), (120, 92), (130, 97), (140, 103), (150, 108), (160, 113), (170, 118),
    (180, 123), (190, 127), (200, 132), (210, 136), (220, 140), (230, 144), (240, 148),
    (250, 152), (260, 155), (270, 159), (280, 162), (290, 165), (300, 169), (320, 175),
    (340, 181), (360, 186), (380, 191), (400, 196), (420, 201), (440, 205), (460, 210),
    (480, 214), (500, 217), (550, 226), (600, 234), (650, 242), (700, 248), (750, 254),
    (800, 260), (850, 265), (900, 269), (950, 274), (1000, 278), (1100, 285), (1200, 291),
    (1300, 297), (1400, 302), (1500, 306), (1600, 310), (1700, 313), (1800, 317), (1900, 320),
    (2000, 322), (2200, 327), (2400, 331), (2600, 335), (2800, 338), (3000, 341), (3500, 346),
    (4000, 351), (4500, 354), (5000, 357), (6000, 361), (7000, 364), (8000, 367), (9000, 368),
    (10000, 370), (15000, 375), (20000, 377), (30000, 379), (40000, 380), (50000, 381),
    (75000, 382), (100000, 384),
)
_POPULATIONS = [p for p, _ in MIN_SAMPLE]


class InvalidAnswers(ValueError):
    """The answers are not nine integers 1-4."""


def check_answers(answers: object) -> tuple[int, ...]:
    """The answers as a tuple, or InvalidAnswers saying what is wrong."""
    if not isinstance(answers, list | tuple) or len(answers) != len(ELEMENTS):
        raise InvalidAnswers(f"answers must be a list of {len(ELEMENTS)} integers 1-4, one per "
                             "element in the regulation's order")
    for i, value in enumerate(answers):
        if isinstance(value, bool) or not isinstance(value, int) or value not in SCALE:
            raise InvalidAnswers(f"answers[{i}] ({ELEMENTS[i].name}) must be an integer 1-4; "
                                 f"got {value!r}")
    return tuple(answers)


@dataclass(frozen=True)
class Index:
    respondents: int
    elements: tuple[float, ...]  # NRR per element, 1.00-4.00 (rounded to 2 places for display)
    ikm: float | None  # converted, 25.00-100.00; None without respondents
    mutu: Mutu | None
    label: str | None


def nrr(responses: Sequence[Sequence[int]]) -> tuple[Fraction, ...]:
    """Nilai rata-rata per element: sum of the element's answers / questionnaires filled in."""
    n = len(responses)
    if n == 0:
        return tuple(Fraction(0) for _ in ELEMENTS)
    return tuple(Fraction(sum(r[i] for r in responses), n) for i in range(len(ELEMENTS)))


def convert(per_element: Iterable[Fraction]) -> Decimal:
    """The IKM on the 25-100 scale, two decimals, from the NRR of each element."""
    raw = sum((value * WEIGHT for value in per_element), Fraction(0)) * CONVERSION
    exact = Decimal(raw.numerator) / Decimal(raw.denominator)
    return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def band(converted: Decimal | float | str) -> tuple[Mutu, str]:
    """The mutu and its label for a converted value (two decimals, half-up)."""
    value = Decimal(str(converted)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if not Decimal(25) <= value <= Decimal(100):
        raise ValueError(f"a converted IKM lies in 25.00-100.00; got {value}")
    for lower, mutu, label in BANDS:
        if value >= lower:
            return mutu, label
    raise AssertionError("unreachable: the last band starts at 25.00")  # pragma: no cover


def index(responses: Sequence[Sequence[int]]) -> Index:
    """The IKM of a set of responses (each nine answers 1-4)."""
    per_element = nrr(responses)
    shown = tuple(round(float(v), 2) for v in per_element)
    if not responses:
        return Index(0, shown, None, None, None)
    converted = convert(per_element)
    mutu, label = band(converted)
    return Index(len(responses), shown, float(converted), mutu, label)


def min_sample(population: int) -> int:
    """The fewest respondents the guidance asks for when ``population`` people were served."""
    if population < 0:
        raise ValueError(f"a population is not negative; got {population}")
    if population <= MIN_SAMPLE[0][0]:
        return population  # a census: everyone served is asked
    at = bisect_left(_POPULATIONS, population)
    return MIN_SAMPLE[min(at, len(MIN_SAMPLE) - 1)][1]
