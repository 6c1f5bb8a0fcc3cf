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
