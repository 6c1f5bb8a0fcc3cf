"""The KPI report as a CSV that Excel set to Indonesian opens as a table: UTF-8 with a byte
order mark (or Excel guesses the code page), ``;`` between fields (``,`` is the decimal
separator there), Indonesian headers and decimal commas, shares as percentages.
``GET /api/v1/kpi?format=excel``; ``format=csv`` stays plain (``,``, English keys, ``0.95``)."""

from __future__ import annotations

import csv
import io
from typing import Any

from hub.reports.kpi import CSV_COLUMNS, csv_rows

BOM = "\ufeff"

# The report's fields as an Indonesian reader names them (the Excel file is Indonesian by
# definition, so these are fixed rather than in the screens' catalogue).
HEADERS = {
    "key": "Kode", "name": "Nama", "sop_days": "SOP (hari kerja)",
    "registered": "Terdaftar", "completed": "Selesai", "open": "Berjalan",
}
_STAGES = {"pickup_p1": "Ambil P1", "handling_p1": "Penanganan P1", "pickup_p2": "Ambil P2",
           "completion": "Penyelesaian"}
_STATS = {
    "finished": "tuntas", "within": "tepat waktu", "overdue": "terlambat",
    "share_within": "% tepat waktu", "median_minutes": "median (menit kerja)",
    "p90_minutes": "P90 (menit kerja)", "median_days": "median (hari kerja)",
    "p90_days": "P90 (hari kerja)",
}


def header(column: str) -> str:
    if column in HEADERS:
        return HEADERS[column]
    stage, stat = column.split(".", 1)
    if stage == "targets":
        return f"{_STAGES[stat]} sasaran %"
    return f"{_STAGES[stage]} {_STATS[stat]}"


def _cell(column: str, value: Any) -> str:
    if value == "" or value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if column.endswith("share_within") or column.startswith("targets."):
        value = round(value * 100, 1)
    if isinstance(value, float):
        text = f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"
        return text.replace(".", ",")
    return str(value)


def excel_csv(report: dict[str, Any]) -> str:
    rows = csv_rows(report)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([header(c) for c in CSV_COLUMNS])
    for row in rows[1:]:
        if row and row[0] == "*":
            row = ["*", "Total", *row[2:]]
        writer.writerow([_cell(c, v) for c, v in zip(CSV_COLUMNS, row, strict=True)])
    return BOM + buffer.getvalue()
