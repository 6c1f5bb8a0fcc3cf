from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from config.catalog import SLUG, SLUG_MAX, Catalog, load_catalog
from hub.errors import ConfigError, NotFound

# The services the source text names, with the unit each is routed to.
EXPECTED_SERVICES = {
    "data-informasi": ("barenbang", "pusdatin"),
    "rtk": ("barenbang", "pusrenaker"),
    "izin-pemagangan-ln": ("binalavotas", "pemagangan"),
    "rekom-pemagangan-ln": ("binalavotas", "pemagangan"),
    "rekom-perpanjangan-sipptki": ("binapenta", "ptkln"),
    "perpanjangan-sipptki": ("binapenta", "ptkln"),
    "perubahan-sipptki": ("binapenta", "ptkln"),
    "pencairan-deposito": ("binapenta", "ptkln"),
    "pendaftaran-pkb": ("phijsk", "persyaratan-kerja"),
    "pengesahan-pp": ("phijsk", "persyaratan-kerja"),
}

MINIMAL = """
[[units]]
code = "ptsa"
level = "front"
name = "Front Office PTSA"

[[units]]
code = "barenbang"
level = "eselon1"
name = "Badan Perencanaan dan Pengembangan Ketenagakerjaan"

[[units]]
code = "pusdatin"
level = "eselon2"
parent = "barenbang"
name = "Pusat Data dan Informasi Ketenagakerjaan"

[[units]]
code = "phijsk"
level = "eselon1"
name = "Ditjen PHI & Jamsos"

[[units]]
code = "persyaratan-kerja"
level = "eselon2"
parent = "phijsk"
name = "Direktorat Persyaratan Kerja"

[[services]]
code = "data-informasi"
name = "Pelayanan Data dan Informasi Ketenagakerjaan"
name_en = "Manpower data and information"
eselon1 = "barenbang"
eselon2 = "pusdatin"
sop_days = 3
sop_source = "test"

[sla]
p1_pickup_minutes = 15
p2_pickup_minutes = 30

[demo]
admins = 1
email_domain = "example.test"
phone_prefix = "08120000"
names = ["Siti Rahmawati", "Budi Santoso", "Made Wirawan", "Yohanes Siahaan", "Cut Rahmah",
         "Andi Firmansyah", "Nur Aini"]

[demo.p0]
ptsa = 1

[demo.p1]
barenbang = 1

[demo.p2]
pusdatin = 1
"""


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "organisation.toml"
    path.write_text(text, encoding="utf-8")
    return path


def broken(old: str, new: str) -> str:
    assert old in MINIMAL, f"test setup: {old!r} is not in the minimal catalogue"
    return MINIMAL.replace(old, new, 1)


def test_shipped_catalogue_loads_from_the_default_path(catalog: Catalog) -> None:
    """The catalogue shipped beside the module loads and passes every check."""
    assert catalog.unit("ptsa").level == "front"
    assert len(catalog.units) > 8


def test_there_are_seven_eselon1_units(catalog: Catalog) -> None:
    """Kemnaker has seven Eselon I units, which fits 14 P1 staff as two per unit."""
    codes = {u.code for u in catalog.eselon1_units()}
    expected = {"setjen", "itjen", "barenbang", "binapenta", "binalavotas", "phijsk", "binwasnaker"}
    assert codes == expected


def test_every_eselon2_unit_sits_under_an_eselon1_unit(catalog: Catalog) -> None:
    """Each Eselon II unit's parent is an Eselon I unit that lists it among its children."""
    for unit in catalog.eselon2_units():
        assert unit.parent is not None
        assert catalog.unit(unit.parent).level == "eselon1"
        assert unit in catalog.children(unit.parent)


def test_the_ten_source_services_are_routed_to_their_units(catalog: Catalog) -> None:
    """The ten services of the source text map to the expected Eselon I and Eselon II units."""
    assert {s.code: (s.eselon1, s.eselon2) for s in catalog.services} == EXPECTED_SERVICES
    for service in catalog.services:
        assert catalog.unit(service.eselon2).parent == service.eselon1
        assert service.sop_days > 0 and service.sop_source


def test_data_and_labour_plan_services_promise_three_working_days(catalog: Catalog) -> None:
    """The two SOPs the source text quotes are at most 3 working days."""
    assert catalog.service("data-informasi").sop_days == 3
    assert catalog.service("rtk").sop_days == 3


def test_company_regulation_review_takes_six_working_days(catalog: Catalog) -> None:
    """PP ratification counts the 6-day content review of Permenaker 28/2014."""
    service = catalog.service("pengesahan-pp")
    assert service.sop_days == 6
    assert "28/2014" in service.sop_source


def test_pickup_slas_are_fifteen_and_thirty_minutes(catalog: Catalog) -> None:
    """P0→P1 pickup is due in 15 minutes and P1→P2 in 30, as the source text says."""
    assert catalog.sla.p1_pickup == timedelta(minutes=15)
    assert catalog.sla.p2_pickup == timedelta(minutes=30)


def test_demo_plan_staffs_nine_p0_at_the_front_office(catalog: Catalog) -> None:
    """Nine P0 desks, all at the front office."""
    p0 = [s for s in catalog.demo_staff if s.role == "p0"]
    assert len(p0) == 9
    assert {s.unit_code for s in p0} == {"ptsa"}
    assert [s.username for s in p0] == [f"p0-{n}" for n in range(1, 10)]


def test_demo_plan_staffs_two_p1_desks_per_eselon1_unit(catalog: Catalog) -> None:
    """Fourteen P1 desks, two at each of the seven Eselon I units."""
    p1 = Counter(s.unit_code for s in catalog.demo_staff if s.role == "p1")
    assert sum(p1.values()) == 14
    assert p1 == {u.code: 2 for u in catalog.eselon1_units()}


def test_demo_plan_spreads_thirty_three_p2_desks_over_eselon2_units(catalog: Catalog) -> None:
    """Thirty-three P2 desks on Eselon II units, at least two wherever a service is answered."""
    p2 = Counter(s.unit_code or "" for s in catalog.demo_staff if s.role == "p2")
    assert sum(p2.values()) == 33
    assert all(catalog.unit(code).level == "eselon2" for code in p2)
    for service in catalog.services:
        assert p2[service.eselon2] >= 2, service.eselon2


def test_every_eselon1_unit_has_staffed_eselon2_units_below_it(catalog: Catalog) -> None:
    """No P1 desk is a dead end: each Eselon I unit has P2 desks to dispose tasks to."""
    p2_units = {s.unit_code for s in catalog.demo_staff if s.role == "p2"}
    for unit in catalog.eselon1_units():
        assert p2_units & {c.code for c in catalog.children(unit.code)}, unit.code


def test_demo_plan_has_one_supervisor_per_staffed_unit_and_one_admin(catalog: Catalog) -> None:
    """Every unit with desks has exactly one supervisor, and there is one admin without a unit."""
    desks = {s.unit_code for s in catalog.demo_staff if s.role in ("p0", "p1", "p2")}
    supervisors = [s.unit_code for s in catalog.demo_staff if s.role == "supervisor"]
    assert len(supervisors) == len(set(supervisors)) == 21
    assert set(supervisors) == desks
    admins = [s for s in catalog.demo_staff if s.role == "admin"]
    assert [(a.username, a.unit_code) for a in admins] == [("admin", None)]


def test_demo_accounts_are_unique_and_contactable(catalog: Catalog) -> None:
    """Usernames, names, emails and phones are all unique, with demo-shaped addresses."""
    staff = catalog.demo_staff
    for attribute in ("username", "full_name", "email", "phone"):
        values = [getattr(s, attribute) for s in staff]
        assert len(set(values)) == len(values), attribute
    assert all(s.email == f"{s.username}@kemnaker.go.id" for s in staff)
    assert all(s.phone.startswith("0812") and s.phone.isdigit() for s in staff)


def test_every_code_is_a_valid_channel_slug(catalog: Catalog) -> None:
    """Unit and service codes match the channel-name slug pattern and length."""
    for code in [u.code for u in catalog.units] + [s.code for s in catalog.services]:
        assert SLUG.match(code) and len(code) <= SLUG_MAX, code


def test_unknown_codes_raise_not_found(catalog: Catalog) -> None:
    """Looking up a code that is not in the catalogue raises NotFound naming the code."""
    with pytest.raises(NotFound, match="'nope'"):
        catalog.unit("nope")
    with pytest.raises(NotFound, match="'nope'"):
        catalog.service("nope")
    with pytest.raises(NotFound, match="'nope'"):
        catalog.children("nope")


def test_services_for_lists_services_of_an_eselon1_or_eselon2_unit(catalog: Catalog) -> None:
    """services_for finds services both by their Eselon I and their Eselon II unit."""
    by_e1 = {s.code for s in catalog.services_for("barenbang")}
    by_e2 = {s.code for s in catalog.services_for("pusdatin")}
    assert by_e1 == {"data-informasi", "rtk"}
    assert by_e2 == {"data-informasi"}


def test_minimal_catalogue_loads(tmp_path: Path) -> None:
    """The minimal catalogue the error tests break is itself valid."""
    catalog = load_catalog(write(tmp_path, MINIMAL))
    assert [s.username for s in catalog.demo_staff] == [
        "p0-1",
        "p1-barenbang-1",
        "p2-pusdatin-1",
        "spv-ptsa",
        "spv-barenbang",
        "spv-pusdatin",
        "admin",
    ]
    assert catalog.demo_staff[0].phone == "081200000001"


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    """A catalogue path that does not exist raises ConfigError naming the path."""
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError, match="absent.toml: catalogue file not found"):
        load_catalog(path)


def test_malformed_toml_is_a_config_error(tmp_path: Path) -> None:
    """A file that is not TOML raises ConfigError naming the file."""
    with pytest.raises(ConfigError, match="organisation.toml: not valid TOML"):
        load_catalog(write(tmp_path, MINIMAL + "\n[[units]\n"))


BROKEN = {
    "unknown parent": (
        'parent = "barenbang"',
        'parent = "barenbag"',
        ["units[2] 'pusdatin'", "unknown parent 'barenbag'"],
    ),
    "parent of the wrong level": (
        'parent = "barenbang"',
        'parent = "ptsa"',
        ["units[2] 'pusdatin'", "parent 'ptsa' must be an eselon1 unit, but it is front"],
    ),
    "eselon1 unit with a parent": (
        'code = "phijsk"\nlevel = "eselon1"',
        'code = "phijsk"\nlevel = "eselon1"\nparent = "barenbang"',
        ["units[3] 'phijsk'", "a eselon1 unit has no parent"],
    ),
    "eselon2 unit without a parent": (
        'parent = "barenbang"\n',
        "",
        ["units[2] 'pusdatin'", "needs parent"],
    ),
    "duplicate unit code": (
        'code = "phijsk"',
        'code = "barenbang"',
        ["units[3] 'barenbang'", "duplicate unit code 'barenbang'"],
    ),
    "bad slug": (
        'code = "pusdatin"',
        'code = "Pusdatin_Naker"',
        ["units[2] 'Pusdatin_Naker'", "is not a valid slug"],
    ),
    "slug too long": (
        'code = "pusdatin"',
        f'code = "{"p" * 41}"',
        ["units[2]", "at most 40 characters"],
    ),
    "unknown level": (
        'level = "front"',
        'level = "eselon3"',
        ["units[0] 'ptsa'", "level must be one of"],
    ),
    "misspelt key": (
        'parent = "barenbang"',
        'parnet = "barenbang"',
        ["units[2] 'pusdatin'", "unknown key 'parnet'"],
    ),
    "service under the wrong eselon1": (
        'eselon1 = "barenbang"',
        'eselon1 = "phijsk"',
        [
            "services[0] 'data-informasi'",
            "'pusdatin' is under 'barenbang', not under eselon1 'phijsk'",
        ],
    ),
    "service eselon2 that is not a unit": (
        'eselon2 = "pusdatin"',
        'eselon2 = "pusdatinn"',
        ["services[0] 'data-informasi'", "eselon2 'pusdatinn' is not a unit code"],
    ),
    "service eselon2 that is an eselon1": (
        'eselon2 = "pusdatin"',
        'eselon2 = "phijsk"',
        ["services[0] 'data-informasi'", "eselon2 'phijsk' is a eselon1 unit"],
    ),
    "zero sop_days": (
        "sop_days = 3",
        "sop_days = 0",
        ["services[0] 'data-informasi'", "sop_days must be a positive whole number, got 0"],
    ),
    "fractional sop_days": (
        "sop_days = 3",
        "sop_days = 2.5",
        ["services[0] 'data-informasi'", "sop_days must be a positive whole number, got 2.5"],
    ),
    "boolean sop_days": (
        "sop_days = 3",
        "sop_days = true",
        ["services[0] 'data-informasi'", "sop_days must be a positive whole number, got True"],
    ),
    "missing sop_source": (
        'sop_source = "test"\n',
        "",
        ["services[0] 'data-informasi'", "missing key 'sop_source'"],
    ),
    "negative sla": (
        "p2_pickup_minutes = 30",
        "p2_pickup_minutes = -30",
        ["[sla]", "p2_pickup_minutes must be a positive whole number, got -30"],
    ),
    "p0 desk outside the front office": (
        "[demo.p0]\nptsa = 1",
        "[demo.p0]\nbarenbang = 1",
        ["[demo.p0] 'barenbang'", "P0 desks belong to front units, but 'barenbang' is eselon1"],
    ),
    "p1 desk at an eselon2 unit": (
        "[demo.p1]\nbarenbang = 1",
        "[demo.p1]\npusdatin = 1",
        ["[demo.p1] 'pusdatin'", "P1 desks belong to eselon1 units, but 'pusdatin' is eselon2"],
    ),
    "p2 desk at an eselon1 unit": (
        "[demo.p2]\npusdatin = 1",
        "[demo.p2]\nphijsk = 1",
        ["[demo.p2] 'phijsk'", "P2 desks belong to eselon2 units, but 'phijsk' is eselon1"],
    ),
    "desk at an unknown unit": (
        "[demo.p2]\npusdatin = 1",
        "[demo.p2]\npusdatin = 1\npusdatim = 2",
        ["[demo.p2] 'pusdatim'", "unknown unit 'pusdatim'"],
    ),
    "zero desks": (
        "[demo.p2]\npusdatin = 1",
        "[demo.p2]\npusdatin = 0",
        ["[demo.p2] 'pusdatin'", "desk count must be a positive whole number, got 0"],
    ),
    "too few names": (
        "[demo.p2]\npusdatin = 1",
        "[demo.p2]\npusdatin = 2",
        ["[demo]", "the plan needs 8 names but names lists 7; add 1 more"],
    ),
    "duplicate name": (
        '"Nur Aini"]',
        '"Nur Aini", "Cut Rahmah"]',
        ["[demo]", "names lists 'Cut Rahmah' more than once"],
    ),
    "bad phone prefix": (
        'phone_prefix = "08120000"',
        'phone_prefix = "+62812"',
        ["[demo]", "phone_prefix must be 6-9 digits starting with 08"],
    ),
}


@pytest.mark.parametrize(("old", "new", "fragments"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_catalogue_is_refused_naming_file_entry_and_problem(
    tmp_path: Path, old: str, new: str, fragments: list[str]
) -> None:
    """Each kind of mistake raises ConfigError whose message names the file, entry and problem."""
    path = write(tmp_path, broken(old, new))
    with pytest.raises(ConfigError) as caught:
        load_catalog(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    for fragment in fragments:
        assert fragment in message, message
