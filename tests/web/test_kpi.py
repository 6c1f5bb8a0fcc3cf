"""KPIs: the pure computation checked against a hand-computed fixture, and the API around it."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub.domain.calendar import BusinessCalendar
from hub.reports.kpi import ClockFact, TaskFact, compute, csv_rows, percentile
from tests.conftest import ApiClient

JAKARTA = ZoneInfo("Asia/Jakarta")
ALWAYS = BusinessCalendar.indonesian(JAKARTA, always=True)
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def clock(kind: str, unit: str, start: datetime, due: datetime, stop: datetime | None = None,
          state: str | None = None, **kw: object) -> ClockFact:
    return ClockFact(kind=kind, unit=unit, state=state or ("met" if stop else "running"),
                     started_at=start, due_at=due, stopped_at=stop, **kw)  # type: ignore[arg-type]


# Five requests; every expected figure below is worked out by hand in the comments.
FIXTURE = [
    TaskFact(1, "data-informasi", "barenbang", "pusdatin", "completed", at(24, 8), at(25, 20), (
        # 10 min, in time
        clock("p1_pickup", "barenbang", at(24, 8), at(24, 8, 15), at(24, 8, 10)),
        # 40 min, late
        clock("p2_pickup", "pusdatin", at(24, 8, 20), at(24, 8, 50), at(24, 9)),
        # 1.5 d, in time
        clock("resolution", "barenbang", at(24, 8), at(27, 8), at(25, 20)),
    )),
    TaskFact(2, "data-informasi", "barenbang", "pusdatin", "completed", at(17, 10), at(21, 22), (
        # 5 min, in time
        clock("p1_pickup", "barenbang", at(17, 10), at(17, 10, 15), at(17, 10, 5)),
        # 20 min, in time
        clock("p2_pickup", "pusdatin", at(17, 10, 10), at(17, 10, 40), at(17, 10, 30)),
        # 4.5 days elapsed, 1 day on hold: 3.5 working days; due moved to the 21st 10:00: late.
        clock("resolution", "barenbang", at(17, 10), at(21, 10), at(21, 22), paused_seconds=86400),
    )),
    TaskFact(3, "rtk", "barenbang", "pusrenaker", "claimed", at(26, 8), None, (
        # 20 min, late
        clock("p1_pickup", "barenbang", at(26, 8), at(26, 8, 15), at(26, 8, 20)),
        # running, overdue
        clock("p2_pickup", "pusrenaker", at(26, 9), at(26, 9, 30)),
        # running, fine
        clock("resolution", "barenbang", at(26, 8), at(29, 8)),
    )),
    TaskFact(4, "data-informasi", "barenbang", None, "queued", at(27, 11), None, (
        # overdue
        clock("p1_pickup", "barenbang", at(27, 11), at(27, 11, 15)),
        clock("resolution", "barenbang", at(27, 11), at(30, 11)),
    )),
    TaskFact(5, "data-informasi", "barenbang", None, "returned", at(27, 8), None, (
        clock("p1_pickup", "barenbang", at(27, 8), at(27, 8, 15), at(27, 8, 5), state="cancelled"),
        clock("resolution", "barenbang", at(27, 8), at(30, 8), state="paused",
              paused_at=at(27, 9)),                                                  # paused: fine
    )),
]


def stats(finished: int, within: int, overdue: int, share: float | None, median: float | None,
          p90: float | None, unit: str) -> dict[str, object]:
    return {"finished": finished, "within": within, "overdue": overdue,
            "late": finished + overdue - within, "share_within": share,
            f"median_{unit}": median, f"p90_{unit}": p90}


def test_unit_kpis_match_the_hand_computed_figures() -> None:
    """Per Eselon II unit: counts, shares within SLA/SOP, medians and nearest-rank P90; the P1
    figures are the Eselon I unit's (issue 11), so no Eselon II row carries them."""
    report = compute(FIXTURE, by="unit", calendar=ALWAYS, now=NOW, weeks=2)
    groups = {g["key"]: g for g in report["groups"]}
    assert sorted(groups) == ["-", "pusdatin", "pusrenaker"]  # "-": not yet disposed (4, 5)
    pusdatin = groups["pusdatin"]
    assert (pusdatin["registered"], pusdatin["completed"], pusdatin["open"]) == (2, 2, 0)
    assert pusdatin["pickup_p1"] == stats(0, 0, 0, None, None, None, "minutes")
    assert pusdatin["pickup_p2"] == stats(2, 1, 0, 0.5, 30.0, 40.0, "minutes")
    assert pusdatin["completion"] == stats(2, 1, 0, 0.5, 2.5, 3.5, "days")
    pusrenaker = groups["pusrenaker"]
    assert (pusrenaker["registered"], pusrenaker["completed"], pusrenaker["open"]) == (1, 0, 1)
    assert pusrenaker["pickup_p1"] == stats(0, 0, 0, None, None, None, "minutes")
    assert pusrenaker["pickup_p2"] == stats(0, 0, 1, 0.0, None, None, "minutes")
    assert pusrenaker["completion"] == stats(0, 0, 0, None, None, None, "days")


def test_totals_include_requests_not_yet_disposed() -> None:
    """Totals count every request; overdue running clocks count as misses, cancelled and paused
    ones do not (per Eselon I, the view that carries the P1 figures)."""
    totals = compute(FIXTURE, by="eselon1", calendar=ALWAYS, now=NOW, weeks=2)["totals"]
    assert (totals["registered"], totals["completed"], totals["open"]) == (5, 2, 3)
    assert totals["pickup_p1"] == stats(3, 2, 1, 0.5, 10.0, 20.0, "minutes")
    assert totals["pickup_p2"] == stats(2, 1, 1, 0.3333, 30.0, 40.0, "minutes")
    assert totals["completion"] == stats(2, 1, 0, 0.5, 2.5, 3.5, "days")


# A sixth request at another Eselon I, for the per-level views. By hand (NOW = 27 Nov 12:00):
# P1 pickup 10:00→10:12 = 12 min, in time; P1 handling 10:12→11:30 = 78 min against 60, late;
# P2 pickup running since 11:30 on the 26th, due 12:00: overdue; resolution running, not due.
BINAPENTA = TaskFact(6, "izin-pemagangan-ln", "binapenta", "ptkln", "queued", at(26, 10), None, (
    clock("p1_pickup", "binapenta", at(26, 10), at(26, 10, 15), at(26, 10, 12)),
    clock("p1_handling", "binapenta", at(26, 10, 12), at(26, 11, 12), at(26, 11, 30)),
    clock("p2_pickup", "ptkln", at(26, 11, 30), at(26, 12)),
    clock("resolution", "binapenta", at(26, 10), at(29, 10)),
))
LEVELS = [*FIXTURE, BINAPENTA]
COUNTS = ("finished", "within", "overdue")


def test_eselon1_kpis_credit_p1_pickup_and_handling_to_the_eselon1_unit() -> None:
    """Per Eselon I: barenbang and binapenta with their own P1 pickup and handling figures,
    and totals worked out by hand over both."""
    report = compute(LEVELS, by="eselon1", calendar=ALWAYS, now=NOW, weeks=2)
    groups = {g["key"]: g for g in report["groups"]}
    assert sorted(groups) == ["barenbang", "binapenta"]
    barenbang, binapenta, totals = groups["barenbang"], groups["binapenta"], report["totals"]
    assert (barenbang["registered"], barenbang["completed"], barenbang["open"]) == (5, 2, 3)
    assert barenbang["pickup_p1"] == stats(3, 2, 1, 0.5, 10.0, 20.0, "minutes")
    assert barenbang["handling_p1"] == stats(0, 0, 0, None, None, None, "minutes")
    assert barenbang["pickup_p2"] == stats(2, 1, 1, 0.3333, 30.0, 40.0, "minutes")
    assert (binapenta["registered"], binapenta["completed"], binapenta["open"]) == (1, 0, 1)
    assert binapenta["pickup_p1"] == stats(1, 1, 0, 1.0, 12.0, 12.0, "minutes")
    assert binapenta["handling_p1"] == stats(1, 0, 0, 0.0, 78.0, 78.0, "minutes")
    assert binapenta["pickup_p2"] == stats(0, 0, 1, 0.0, None, None, "minutes")
    assert binapenta["completion"] == stats(0, 0, 0, None, None, None, "days")
    assert (totals["registered"], totals["completed"], totals["open"]) == (6, 2, 4)
    # [5, 10, 12, 20] minutes: median (10 + 12) / 2 = 11; P90 rank ⌈3.6⌉ = 4th = 20; 3 of 5.
    assert totals["pickup_p1"] == stats(4, 3, 1, 0.6, 11.0, 20.0, "minutes")
    assert totals["handling_p1"] == stats(1, 0, 0, 0.0, 78.0, 78.0, "minutes")
    assert totals["pickup_p2"] == stats(2, 1, 2, 0.25, 30.0, 40.0, "minutes")


def test_eselon2_view_has_a_row_for_requests_not_yet_disposed_and_no_p1_figures() -> None:
    """Per Eselon II: 2 not yet disposed, pusdatin 2, pusrenaker 1, ptkln 1; P1 figures nowhere,
    not even in the totals, since no Eselon II row may carry them."""
    report = compute(LEVELS, by="unit", calendar=ALWAYS, now=NOW, weeks=2)
    groups = {g["key"]: g for g in report["groups"]}
    assert {k: g["registered"] for k, g in groups.items()} == {
        "-": 2, "pusdatin": 2, "pusrenaker": 1, "ptkln": 1}
    assert groups["ptkln"]["pickup_p2"] == stats(0, 0, 1, 0.0, None, None, "minutes")
    for key in ("pickup_p1", "handling_p1"):
        assert report["totals"][key] == stats(0, 0, 0, None, None, None, "minutes")


@pytest.mark.parametrize("by", ["unit", "eselon1", "service"])
def test_totals_are_the_sum_of_the_rows_in_every_view(by: str) -> None:
    """Registered, completed, open and every finished/within/overdue count add up to the totals."""
    report = compute(LEVELS, by=by, calendar=ALWAYS, now=NOW, weeks=2)  # type: ignore[arg-type]
    rows, totals = report["groups"], report["totals"]
    for key in ("registered", "completed", "open"):
        assert sum(g[key] for g in rows) == totals[key], key
    for metric in ("pickup_p1", "handling_p1", "pickup_p2", "completion"):
        for count in COUNTS:
            assert sum(g[metric][count] for g in rows) == totals[metric][count], (metric, count)


def test_weekly_trend_buckets_by_the_jakarta_week_of_finishing() -> None:
    """Request 2 was completed Saturday 22:00 UTC, Sunday 05:00 in Jakarta: the week of the 16th."""
    trend = compute(FIXTURE, by="unit", calendar=ALWAYS, now=NOW, weeks=2)["totals"]["trend"]
    assert [w["start"] for w in trend] == ["2026-11-16", "2026-11-23"]
    assert [w["week"] for w in trend] == ["2026-W47", "2026-W48"]
    assert [(w["completions"], w["completion_share_within"], w["completion_median_days"])
            for w in trend] == [(1, 0.0, 3.5), (1, 1.0, 1.5)]
    assert [(w["pickups"], w["pickup_share_within"], w["pickup_median_minutes"])
            for w in trend] == [(1, 1.0, 20.0), (1, 0.0, 40.0)]


def test_empty_weeks_stay_in_the_trend() -> None:
    """A week with nothing finished is present with no share, so a chart shows the gap."""
    trend = compute(FIXTURE, by="unit", calendar=ALWAYS, now=NOW, weeks=4)["totals"]["trend"]
    assert trend[0] == {"week": "2026-W45", "start": "2026-11-02", "completions": 0,
                        "completion_share_within": None, "completion_median_days": None,
                        "pickups": 0, "pickup_share_within": None,
                        "pickup_median_minutes": None}


def test_service_kpis_group_by_service() -> None:
    """Per service, the RTK request's overdue P2 pickup is its only decided pickup."""
    groups = {g["key"]: g for g in compute(FIXTURE, by="service", calendar=ALWAYS, now=NOW,
                                           weeks=2)["groups"]}
    assert sorted(groups) == ["data-informasi", "rtk"]
    assert groups["data-informasi"]["registered"] == 4
    assert groups["rtk"]["pickup_p2"] == stats(0, 0, 1, 0.0, None, None, "minutes")


def test_completion_days_count_only_office_time() -> None:
    """Friday 14:00 to Tuesday 10:00 WIB in an 08:00-16:00 office is 2 + 8 + 2 hours: 1.5
    working days of 8 hours."""
    office = BusinessCalendar.indonesian(JAKARTA, "mon-fri 08:00-16:00")
    start = datetime(2026, 11, 27, 14, tzinfo=JAKARTA)
    done = datetime(2026, 12, 1, 10, tzinfo=JAKARTA)
    task = TaskFact(1, "rtk", "barenbang", "pusrenaker", "completed", start, done, (
        clock("resolution", "barenbang", start, office.add_working_days(start, 3), done),))
    report = compute([task], by="unit", calendar=office, now=done + timedelta(days=1))
    assert report["groups"][0]["completion"]["median_days"] == 1.5
    assert report["groups"][0]["completion"]["within"] == 1


def test_percentile_is_nearest_rank() -> None:
    """P90 of 1..10 is 9, of three values the largest, of none None."""
    assert percentile([float(v) for v in range(10, 0, -1)], 90) == 9.0
    assert percentile([5.0, 1.0, 3.0], 90) == 5.0
    assert percentile([], 90) is None


def test_csv_rows_flatten_every_group_and_the_totals() -> None:
    """The CSV has one header and one row per group plus the totals, blanks for no value."""
    report = compute(FIXTURE, by="unit", calendar=ALWAYS, now=NOW, weeks=2)
    rows = csv_rows(report)
    header = rows[0]
    assert header[:3] == ["key", "name", "sop_days"]
    assert [r[0] for r in rows[1:]] == ["-", "pusdatin", "pusrenaker", "*"]
    pusrenaker = dict(zip(header, rows[3], strict=True))
    assert pusrenaker["pickup_p2.overdue"] == 1 and pusrenaker["completion.median_days"] == ""


async def completed_request(api: ApiClient) -> dict[str, object]:
    task = await api.register()
    tid = task["id"]
    for user, action, body in (("p1-barenbang-1", "claim", {}),
                               ("p1-barenbang-1", "dispose", {"unit": "pusdatin"}),
                               ("p2-pusdatin-1", "claim", {}),
                               ("p2-pusdatin-1", "complete", {"result": "Data dikirim"})):
        r = await api.as_(user, "POST", f"/api/v1/tasks/{tid}/{action}", json=body)
        assert r.status_code == 200, r.text
    return task


async def test_kpi_api_reports_a_completed_request(api: ApiClient) -> None:
    """GET /api/v1/kpi counts a request completed through the API at its Eselon II unit."""
    await completed_request(api)
    await api.register()
    answer = await api.as_("spv-barenbang", "GET", "/api/v1/kpi?by=unit")
    assert answer.status_code == 200
    report = answer.json()
    pusdatin = next(g for g in report["groups"] if g["key"] == "pusdatin")
    assert pusdatin["name"] == "Pusat Data dan Informasi Ketenagakerjaan"
    assert pusdatin["completed"] == 1 and pusdatin["completion"]["within"] == 1
    assert pusdatin["pickup_p2"]["finished"] == 1
    assert report["totals"]["registered"] == 2
    assert len(report["totals"]["trend"]) == 8


async def test_kpi_csv_export(api: ApiClient) -> None:
    """format=csv answers a CSV attachment with the same figures."""
    await completed_request(api)
    answer = await api.as_("admin", "GET", "/api/v1/kpi?by=service&format=csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    service = next(r for r in rows if r["key"] == "data-informasi")
    assert service["completed"] == "1" and service["sop_days"] == "3"


async def test_kpi_csv_exports_carry_p1_handling_and_the_admins_targets(api: ApiClient,
                                                                       app: Any) -> None:
    """Both CSV exports give the Eselon I unit's P1 handling figures and the targets an admin
    set, plain as shares (0.825) and for Excel as percentages with a decimal comma (82,5)."""
    from hub.reports.kpi_targets import set_target

    await completed_request(api)  # P1 claimed and disposed at once: one handling, in time
    await set_target(app.state.ctx.db, "barenbang", "pickup_p1", "90")
    await set_target(app.state.ctx.db, "barenbang", "handling_p1", "82,5")
    plain = await api.as_("admin", "GET", "/api/v1/kpi?by=eselon1&format=csv")
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(plain.text))}
    assert rows["barenbang"]["handling_p1.finished"] == "1"
    assert rows["barenbang"]["handling_p1.within"] == "1"
    assert rows["barenbang"]["handling_p1.share_within"] == "1.0"
    assert rows["barenbang"]["targets.pickup_p1"] == "0.9"
    assert rows["barenbang"]["targets.handling_p1"] == "0.825"
    assert rows["barenbang"]["targets.pickup_p2"] == "" and rows["*"]["targets.pickup_p1"] == ""
    excel = await api.as_("admin", "GET", "/api/v1/kpi?by=eselon1&format=excel")
    table = list(csv.reader(io.StringIO(excel.content.decode("utf-8-sig")), delimiter=";"))
    barenbang = dict(zip(table[0], next(r for r in table if r[0] == "barenbang"), strict=True))
    assert barenbang["Penanganan P1 tuntas"] == "1"
    assert barenbang["Penanganan P1 % tepat waktu"] == "100"
    assert barenbang["Ambil P1 sasaran %"] == "90"
    assert barenbang["Penanganan P1 sasaran %"] == "82,5"
    assert barenbang["Penyelesaian sasaran %"] == ""


async def test_kpi_is_limited_to_what_the_caller_may_see(api: ApiClient) -> None:
    """A P2 desk of another unit sees none of Pusdatin's requests in its KPIs."""
    await completed_request(api)
    answer = await api.as_("p2-pusrenaker-1", "GET", "/api/v1/kpi")
    assert answer.json()["totals"]["registered"] == 0


@pytest.mark.parametrize("query", ["by=team", "weeks=0", "weeks=x", "from=2026-13-01",
                                   "from=2026-11-20&to=2026-11-01", "format=xml"])
async def test_kpi_rejects_bad_parameters(api: ApiClient, query: str) -> None:
    """A bad parameter answers 422 naming the field."""
    answer = await api.as_("admin", "GET", f"/api/v1/kpi?{query}")
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] in ("by", "weeks", "from", "to", "format")


async def test_kpi_page_draws_charts_and_links_the_csv(api: ApiClient, app: object) -> None:
    """The KPI page shows SVG charts, the figures table and a CSV link."""
    from tests.support.pages import PageClient, page_client

    await completed_request(api)
    async with page_client(app) as client:
        pages = PageClient(client)
        await pages.login("spv-barenbang")
        page = await client.get("/kinerja?by=unit")
    assert page.status_code == 200
    assert page.text.count("<svg") == 5  # four KPI charts and the IKM trend
    assert re.search(r'href="/api/v1/kpi\?by=unit[^"]*format=csv" id="csv-export"', page.text)
    assert "Pusdatinaker" in page.text or "Pusat Data dan Informasi" in page.text
    assert "100%" in page.text


async def test_kpi_page_explains_a_bad_filter_and_still_shows_the_default(app: object) -> None:
    """A malformed date on the KPI page is explained and the default period is shown."""
    from tests.support.pages import PageClient, page_client

    async with page_client(app) as client:
        await PageClient(client).login("spv-barenbang")
        page = await client.get("/kinerja?from=kemarin")
    assert page.status_code == 200
    assert "Isi tanggal seperti 2026-11-27." in page.text
    assert page.text.count("<svg") == 5  # four KPI charts and the IKM trend


class StoppedClock:
    """The commands' clock (``hub.tasks.commands.utcnow``), set by the test before each command."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.now = start

    def __call__(self) -> datetime:
        return self.now


async def test_kpi_api_figures_from_requests_driven_through_the_commands_at_set_times(
        api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Five requests go through the real commands (so tasks, history and sla_clocks rows are
    written as in production) at hand-picked moments; GET /api/v1/kpi gives the hand-computed
    counts, shares, medians and P90s. The calendar is ``always`` (a minute is a minute, a working
    day 24 h); pickup SLAs 15 and 30 min; data-informasi's SOP is 3 days."""
    # Six days ago, on the hour: every moment below is in the past, so open clocks are judged
    # against the real "now" of GET /kpi exactly as the comments say.
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=6)
    clock = StoppedClock(start)
    monkeypatch.setattr("hub.tasks.commands.utcnow", clock)
    m, h, d = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)

    async def at(offset: timedelta, user: str, action: str, tid: int,
                 **body: str) -> None:
        clock.now = start + offset
        r = await api.as_(user, "POST", f"/api/v1/tasks/{tid}/{action}", json=body)
        assert r.status_code == 200, (action, r.text)

    async def register(offset: timedelta) -> int:
        clock.now = start + offset
        return int((await api.register())["id"])

    p1, p2 = "p1-barenbang-1", "p2-pusdatin-1"
    a = await register(0 * h)                                  # A: all in time
    await at(6 * m, p1, "claim", a)                            # P1 pickup 6 min (≤ 15)
    await at(10 * m, p1, "dispose", a, unit="pusdatin")
    await at(22 * m, p2, "claim", a)                           # P2 pickup 12 min (≤ 30)
    await at(1 * d, p2, "complete", a, result="ok")            # SOP 1.0 day (≤ 3)
    b = await register(1 * h)                                  # B: all late, with a hold
    await at(1 * h + 20 * m, p1, "claim", b)                   # 20 min: late
    await at(1 * h + 25 * m, p1, "dispose", b, unit="pusdatin")
    await at(1 * h + 70 * m, p2, "claim", b)                   # 45 min: late
    await at(3 * h, p2, "hold", b, reason="berkas kurang")     # the SOP clock stops...
    await at(3 * h + 1 * d, p2, "resume", b)                   # ...for 1 day: due moves to 1h+4d
    await at(1 * h + 4 * d + 12 * h, p2, "complete", b, result="ok")  # 4.5 d - 1 d = 3.5 d: late
    c = await register(2 * h)                                  # C: on the deadlines exactly
    await at(2 * h + 10 * m, p1, "claim", c)                   # 10 min
    await at(2 * h + 15 * m, p1, "dispose", c, unit="pusdatin")
    await at(2 * h + 45 * m, p2, "claim", c)                   # 30 min: at the due time = in time
    await at(2 * h + 2 * d, p2, "complete", c, result="ok")    # 2.0 days
    dd = await register(3 * h)                                 # D: waits at the P2 queue
    await at(3 * h + 14 * m, p1, "claim", dd)                  # 14 min
    await at(3 * h + 16 * m, p1, "dispose", dd, unit="pusdatin")
    # D's P2 pickup (due 3h+46m) and SOP (due 3h+3d) are still running and long past due.
    await register(4 * h)  # E: never claimed; P1 pickup and SOP overdue; no Eselon II unit yet

    since = (start - d).astimezone(JAKARTA).date().isoformat()
    answer = await api.as_("admin", "GET", f"/api/v1/kpi?by=unit&from={since}")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    pusdatin = next(g for g in report["groups"] if g["key"] == "pusdatin")
    assert (pusdatin["registered"], pusdatin["completed"], pusdatin["open"]) == (4, 3, 1)
    # P1 figures are Barenbang's (the Eselon I), not Pusdatin's: see by=eselon1 below.
    assert pusdatin["pickup_p1"] == stats(0, 0, 0, None, None, None, "minutes")
    # P2 pickups 12, 45, 30 finished (2 in time) + D overdue: 2 / (3 + 1) = 0.5; median of
    # 12 30 45 = 30; P90 ⌈0.9·3⌉ = 3rd = 45.
    assert pusdatin["pickup_p2"] == stats(3, 2, 1, 0.5, 30.0, 45.0, "minutes")
    # SOP 1.0, 3.5, 2.0 days finished (A and C in time) + D overdue: 2 / 4 = 0.5; median 2.0;
    # P90 3rd of 1.0 2.0 3.5 = 3.5.
    assert pusdatin["completion"] == stats(3, 2, 1, 0.5, 2.0, 3.5, "days")
    totals = report["totals"]
    assert (totals["registered"], totals["completed"], totals["open"]) == (5, 3, 2)
    answer = await api.as_("admin", "GET", f"/api/v1/kpi?by=eselon1&from={since}")
    [barenbang] = answer.json()["groups"]
    assert barenbang["key"] == "barenbang" and barenbang["registered"] == 5
    # P1 pickups 6, 20, 10, 14 (3 in time) + E overdue: 3 / 5 = 0.6; sorted 6 10 14 20, median
    # (10 + 14) / 2 = 12; P90 nearest rank ⌈0.9·4⌉ = 4th = 20.
    assert barenbang["pickup_p1"] == stats(4, 3, 1, 0.6, 12.0, 20.0, "minutes")
    # P1 handling, claim to disposition: A 4, B 5, C 5, D 2 minutes, all within 60; median of
    # 2 4 5 5 = 4.5, P90 4th = 5.
    assert barenbang["handling_p1"] == stats(4, 4, 0, 1.0, 4.5, 5.0, "minutes")
    assert totals["pickup_p2"] == stats(3, 2, 1, 0.5, 30.0, 45.0, "minutes")
    # E's overdue SOP joins D's: 2 / (3 + 2) = 0.4.
    assert totals["completion"] == stats(3, 2, 2, 0.4, 2.0, 3.5, "days")
    assert sum(w["completions"] for w in totals["trend"]) == 3
