"""Units nobody can work at are named before a request gets stuck there: `ptsa check` and the
admin unit page warn about them."""

from __future__ import annotations

from pathlib import Path

from config.catalog import load_catalog
from tests.hub.cli.test_cli import _env, ptsa_async


def _unstaffed_in_the_demo_plan() -> list[str]:
    """Units of organisation.toml whose level's desk role has no seat in its [demo] plan."""
    catalog = load_catalog()
    seats = {(p.unit_code, p.role) for p in catalog.demo_staff}
    return sorted(u.code for u in catalog.units if u.level in ("eselon1", "eselon2")
                  and (u.code, "p1" if u.level == "eselon1" else "p2") not in seats)


UNSTAFFED = _unstaffed_in_the_demo_plan()


def test_the_shipped_plan_leaves_the_units_issue_11_found_unstaffed() -> None:
    """The four units issue 11 names, and bina-produktivitas, have no P2 desk in the plan."""
    assert UNSTAFFED == ["bina-produktivitas", "biro-hukum", "inspektorat-ii", "pengupahan",
                         "puslitbang"]


async def test_check_warns_about_each_unit_without_an_active_desk(database_url: str,
                                                                  redis_url: str,
                                                                  tmp_path: Path) -> None:
    """After the demo seed, `ptsa check` names each unstaffed unit in a warning, and still
    exits 0 (a unit may wait for its desks; dispositions there are refused meanwhile)."""
    env = _env(tmp_path, DATABASE_URL=database_url, REDIS_URL=redis_url)
    for args in (("init-db",), ("seed", "--demo")):
        code, out, err = await ptsa_async(env, *args)
        assert code == 0, out + err
    code, out, err = await ptsa_async(env, "check")
    assert code == 0, out + err
    warned = sorted(line.split()[2] for line in out.splitlines()
                    if line.startswith("  warn  unit "))
    assert warned == UNSTAFFED, out
    assert "  warn  unit puslitbang has no active P2 desk" in out
