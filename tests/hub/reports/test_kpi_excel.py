"""The KPI CSV for Excel set to Indonesian, read back with a semicolon parser."""

from __future__ import annotations

import csv
import io
from typing import Any

from hub.reports.kpi import CSV_COLUMNS
from hub.reports.kpi_excel import excel_csv


def _group(key: str, name: str, share: float | None, median: float) -> dict[str, Any]:
    stats = {"finished": 4, "within": 3, "overdue": 1, "share_within": share,
             "median_minutes": median, "p90_minutes": 12.25, "median_days": 1.5,
             "p90_days": 2.0}
    return {"key": key, "name": name, "sop_days": 3, "registered": 5, "completed": 4, "open": 1,
            "pickup_p1": stats, "pickup_p2": stats, "completion": stats}


def test_decimal_commas_percent_shares_and_indonesian_headers() -> None:
    """Shares become percentages with a decimal comma, fractions keep a comma, empty figures
    stay empty, the totals row is named "Total", and every row has every column."""
    report = {"groups": [_group("pusdatin", "Pusat Data; dan Informasi", 0.75, 3.5),
                         _group("x", "Tanpa data", None, 0.0)],
              "totals": _group("*", "Total", 0.9375, 7.25)}
    text = excel_csv(report)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert len(rows) == 4 and all(len(r) == len(CSV_COLUMNS) for r in rows)
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["Nama"] == "Pusat Data; dan Informasi"  # quoted, not split
    assert first["Ambil P1 % tepat waktu"] == "75"
    assert first["Ambil P1 median (menit kerja)"] == "3,5"
    assert first["Penyelesaian P90 (hari kerja)"] == "2"
    assert dict(zip(rows[0], rows[2], strict=True))["Ambil P2 % tepat waktu"] == ""
    total = dict(zip(rows[0], rows[3], strict=True))
    assert total["Nama"] == "Total" and total["Ambil P1 % tepat waktu"] == "93,8"
    assert total["Ambil P1 median (menit kerja)"] == "7,25"


def test_p1_handling_and_the_admins_targets_have_their_own_columns() -> None:
    """P1 handling gets the six figures the other stages have, each admin target a percentage
    column ("Ambil P1 sasaran %"), blank where no target is set and on the totals row."""
    group = _group("barenbang", "Badan Perencanaan", 0.75, 3.5)
    group["handling_p1"] = {"finished": 2, "within": 1, "overdue": 1, "share_within": 0.3333,
                            "median_minutes": 78.0, "p90_minutes": 95.5}
    group["targets"] = {"pickup_p1": 0.9, "handling_p1": 0.825}
    rows = list(csv.reader(io.StringIO(excel_csv({"groups": [group],
                                                  "totals": _group("*", "Total", 0.5, 1.0)})[1:]),
                           delimiter=";"))
    assert all(len(r) == len(CSV_COLUMNS) for r in rows)
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Penanganan P1 tuntas"] == "2" and row["Penanganan P1 tepat waktu"] == "1"
    assert row["Penanganan P1 terlambat"] == "1"
    assert row["Penanganan P1 % tepat waktu"] == "33,3"  # 1 within of 2 + 1 decided
    assert row["Penanganan P1 median (menit kerja)"] == "78"
    assert row["Penanganan P1 P90 (menit kerja)"] == "95,5"
    assert row["Ambil P1 sasaran %"] == "90" and row["Penanganan P1 sasaran %"] == "82,5"
    assert row["Ambil P2 sasaran %"] == "" and row["Penyelesaian sasaran %"] == ""
    total = dict(zip(rows[0], rows[2], strict=True))
    assert total["Ambil P1 sasaran %"] == "" and total["Penanganan P1 tuntas"] == ""
