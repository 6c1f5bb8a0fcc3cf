"""The organisation, service catalogue, SLA policy and demo staff plan, read from TOML.

``organisation.toml`` beside this module is data that administrators edit; :func:`load_catalog`
reads it into frozen dataclasses and checks it whole, so a typo is a start-up error naming the file,
the entry and the problem rather than a task routed to a unit that does not exist. Nothing is read
at import time.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, NoReturn, cast

from hub.domain.slugs import SLUG
from hub.domain.tasks import Role
from hub.errors import ConfigError, NotFound

DEFAULT_PATH = Path(__file__).with_name("organisation.toml")

UnitLevel = Literal["front", "eselon1", "eselon2"]
StaffRole = Role  # the roles are defined once, in the state machine

# Codes end up in channel names and Redis keys, so they share the channel-name alphabet.
SLUG_MAX = 40
LEVELS: tuple[UnitLevel, ...] = ("front", "eselon1", "eselon2")
# Which unit level each desk role sits at.
DESK_LEVEL: dict[str, UnitLevel] = {"p0": "front", "p1": "eselon1", "p2": "eselon2"}

_UNIT_KEYS = {"code", "level", "name", "short_name", "parent"}
_SERVICE_KEYS = {"code", "name", "name_en", "eselon1", "eselon2", "sop_days", "sop_source"}
_SLA_KEYS = {"p1_pickup_minutes", "p2_pickup_minutes"}
_SLA_OPTIONAL = {"p1_handling_minutes"}
_DEMO_KEYS = {"admins", "email_domain", "phone_prefix", "names", "p0", "p1", "p2"}


@dataclass(frozen=True)
class UnitDef:
    code: str
    name: str
    short_name: str
    level: UnitLevel
    parent: str | None


@dataclass(frozen=True)
class ServiceDef:
    code: str
    name: str
    name_en: str
    eselon1: str
    eselon2: str
    sop_days: int
    sop_source: str


@dataclass(frozen=True)
class SlaPolicy:
    p1_pickup: timedelta
    p2_pickup: timedelta
    p1_handling: timedelta = timedelta(minutes=60)


@dataclass(frozen=True)
class StaffDef:
    username: str
    full_name: str
    role: StaffRole
    unit_code: str | None  # None for admins, who belong to no unit
    email: str
    phone: str


@dataclass(frozen=True)
class Catalog:
    units: tuple[UnitDef, ...]
    services: tuple[ServiceDef, ...]
    sla: SlaPolicy
    demo_staff: tuple[StaffDef, ...]
    _units: dict[str, UnitDef] = field(init=False, repr=False, compare=False)
    _services: dict[str, ServiceDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_units", {u.code: u for u in self.units})
        object.__setattr__(self, "_services", {s.code: s for s in self.services})

    def unit(self, code: str) -> UnitDef:
        """Raises NotFound: no unit has this code."""
        try:
            return self._units[code]
        except KeyError:
            raise NotFound(f"No unit with code {code!r}") from None

    def service(self, code: str) -> ServiceDef:
        """Raises NotFound: no service has this code."""
        try:
            return self._services[code]
        except KeyError:
            raise NotFound(f"No service with code {code!r}") from None

    def children(self, code: str) -> tuple[UnitDef, ...]:
        """The units directly under ``code``, in file order (raises NotFound for unknown codes)."""
        self.unit(code)
        return tuple(u for u in self.units if u.parent == code)

    def front_units(self) -> tuple[UnitDef, ...]:
        return self._level("front")

    def eselon1_units(self) -> tuple[UnitDef, ...]:
        return self._level("eselon1")

    def eselon2_units(self) -> tuple[UnitDef, ...]:
        return self._level("eselon2")

    def services_for(self, unit_code: str) -> tuple[ServiceDef, ...]:
        """Services answered by an Eselon I unit or one of its Eselon II units."""
        self.unit(unit_code)
        return tuple(s for s in self.services if unit_code in (s.eselon1, s.eselon2))

    def _level(self, level: UnitLevel) -> tuple[UnitDef, ...]:
        return tuple(u for u in self.units if u.level == level)


def load_catalog(path: Path | None = None) -> Catalog:
    """Read and check the catalogue (default: ``organisation.toml`` beside this module).

    Raises:
        ConfigError: the file is missing, is not TOML, or an entry is wrong; the message names
            the file, the entry and the problem.
    """
    path = path or DEFAULT_PATH
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: catalogue file not found", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", file=str(path)) from None
    return _Reader(path).catalog(data)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> NoReturn:
        raise ConfigError(f"{self.path}: {where}: {problem}", file=str(self.path), entry=where)

    def catalog(self, data: dict[str, Any]) -> Catalog:
        self.keys(data, "top level", {"units", "services", "sla", "demo", "queue"},
                  required=set())  # [queue]: config/queue.py
        units = self.units(data.get("units"))
        by_code = {u.code: u for u in units}
        services = self.services(data.get("services"), by_code)
        sla = self.sla(data.get("sla"))
        staff = self.demo(data.get("demo"), by_code)
        return Catalog(tuple(units), tuple(services), sla, tuple(staff))

    # -- generic checks ------------------------------------------------------------------------

    def keys(self, entry: Any, where: str, allowed: set[str], required: set[str]) -> None:
        if not isinstance(entry, Mapping):
            self.fail(where, f"expected a table, got {type(entry).__name__}")
        unknown = sorted(set(entry) - allowed)
        if unknown:
            self.fail(where, f"unknown key {unknown[0]!r} (expected one of {sorted(allowed)})")
        missing = sorted(required - set(entry))
        if missing:
            self.fail(where, f"missing key {missing[0]!r}")

    def text(self, entry: Mapping[str, Any], key: str, where: str) -> str:
        value = entry[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(where, f"{key} must be a non-empty string, got {value!r}")
        return value

    def positive_int(self, entry: Mapping[str, Any], key: str, where: str) -> int:
        value = entry[key]
        # bool is an int subclass; `sop_days = true` must not read as 1.
        if type(value) is not int or value <= 0:
            self.fail(where, f"{key} must be a positive whole number, got {value!r}")
        return value

    def slug(self, code: Any, where: str, seen: set[str], kind: str) -> str:
        if not isinstance(code, str) or not SLUG.match(code) or len(code) > SLUG_MAX:
            self.fail(
                where,
                f"code {code!r} is not a valid slug (lower-case letters and digits in"
                f" dash-separated words, at most {SLUG_MAX} characters)",
            )
        if code in seen:
            self.fail(where, f"duplicate {kind} code {code!r}")
        seen.add(code)
        return code

    def array(self, raw: Any, key: str) -> list[Any]:
        if not isinstance(raw, list) or not raw:
            self.fail(key, f"expected at least one [[{key}]] entry")
        return raw

    # -- sections ------------------------------------------------------------------------------

    def units(self, raw: Any) -> list[UnitDef]:
        units: list[UnitDef] = []
        seen: set[str] = set()
        for i, entry in enumerate(self.array(raw, "units")):
            where = self.where("units", i, entry)
            self.keys(entry, where, _UNIT_KEYS, required={"code", "level", "name"})
            code = self.slug(entry["code"], where, seen, "unit")
            level = entry["level"]
            if level not in LEVELS:
                self.fail(where, f"level must be one of {list(LEVELS)}, got {level!r}")
            name = self.text(entry, "name", where)
            short = self.text(entry, "short_name", where) if "short_name" in entry else name
            parent = entry.get("parent")
            if parent is not None and not isinstance(parent, str):
                self.fail(where, f"parent must be a unit code, got {parent!r}")
            units.append(UnitDef(code, name, short, cast(UnitLevel, level), parent))
        by_code = {u.code: u for u in units}
        for i, unit in enumerate(units):
            where = f"units[{i}] {unit.code!r}"
            if unit.level != "eselon2":
                if unit.parent is not None:
                    self.fail(where, f"a {unit.level} unit has no parent; got {unit.parent!r}")
                continue
            if unit.parent is None:
                self.fail(where, "an eselon2 unit needs parent = <its eselon1 code>")
            if unit.parent not in by_code:
                self.fail(where, f"unknown parent {unit.parent!r}: no unit has that code")
            if by_code[unit.parent].level != "eselon1":
                self.fail(
                    where,
                    f"parent {unit.parent!r} must be an eselon1 unit,"
                    f" but it is {by_code[unit.parent].level}",
                )
        if not any(u.level == "front" for u in units):
            self.fail("units", "expected a unit with level = 'front' (the P0 front office)")
        return units

    def services(self, raw: Any, units: Mapping[str, UnitDef]) -> list[ServiceDef]:
        services: list[ServiceDef] = []
        seen: set[str] = set()
        for i, entry in enumerate(self.array(raw, "services")):
            where = self.where("services", i, entry)
            self.keys(entry, where, _SERVICE_KEYS, required=_SERVICE_KEYS)
            code = self.slug(entry["code"], where, seen, "service")
            e1, e2 = self.text(entry, "eselon1", where), self.text(entry, "eselon2", where)
            for key, value, level in (("eselon1", e1, "eselon1"), ("eselon2", e2, "eselon2")):
                if value not in units:
                    self.fail(where, f"{key} {value!r} is not a unit code")
                if units[value].level != level:
                    self.fail(where, f"{key} {value!r} is a {units[value].level} unit")
            if units[e2].parent != e1:
                self.fail(
                    where,
                    f"eselon2 {e2!r} is under {units[e2].parent!r}, not under eselon1 {e1!r}",
                )
            services.append(
                ServiceDef(
                    code=code,
                    name=self.text(entry, "name", where),
                    name_en=self.text(entry, "name_en", where),
                    eselon1=e1,
                    eselon2=e2,
                    sop_days=self.positive_int(entry, "sop_days", where),
                    sop_source=self.text(entry, "sop_source", where),
                )
            )
        return services

    def sla(self, raw: Any) -> SlaPolicy:
        self.keys(raw if raw is not None else {}, "[sla]", _SLA_KEYS | _SLA_OPTIONAL,
                  required=_SLA_KEYS)
        return SlaPolicy(
            p1_pickup=timedelta(minutes=self.positive_int(raw, "p1_pickup_minutes", "[sla]")),
            p2_pickup=timedelta(minutes=self.positive_int(raw, "p2_pickup_minutes", "[sla]")),
            p1_handling=timedelta(minutes=self.positive_int(raw, "p1_handling_minutes", "[sla]"))
            if "p1_handling_minutes" in raw else SlaPolicy.p1_handling,
        )

    def demo(self, raw: Any, units: Mapping[str, UnitDef]) -> list[StaffDef]:
        where = "[demo]"
        self.keys(raw if raw is not None else {}, where, _DEMO_KEYS, required=_DEMO_KEYS)
        domain = self.text(raw, "email_domain", where)
        prefix = self.text(raw, "phone_prefix", where)
        if not prefix.isdigit() or not prefix.startswith("08") or not 6 <= len(prefix) <= 9:
            self.fail(
                where,
                "phone_prefix must be 6-9 digits starting with 08 (a 4-digit sequence number"
                f" follows), got {prefix!r}",
            )
        names = raw["names"]
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            self.fail(where, "names must be a list of non-empty strings")
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            self.fail(where, f"names lists {dup!r} more than once")
        admins = raw["admins"]
        if type(admins) is not int or admins < 1:
            self.fail(where, f"admins must be a whole number of at least 1, got {admins!r}")

        # (role, unit, username) first; names, emails and phones are handed out in this order.
        # Unit codes are unique and desk levels disjoint, so the usernames are unique too.
        plan: list[tuple[StaffRole, str | None, str]] = []
        staffed: list[str] = []
        for role in (Role.P0, Role.P1, Role.P2):
            section = f"[demo.{role}]"
            desks = raw[role]
            if not isinstance(desks, Mapping) or not desks:
                self.fail(section, "expected a table of <unit code> = <number of desks>")
            for code, count in desks.items():
                entry = f"{section} {code!r}"
                if code not in units:
                    self.fail(entry, f"unknown unit {code!r}: no unit has that code")
                if units[code].level != DESK_LEVEL[role]:
                    self.fail(
                        entry,
                        f"{role.upper()} desks belong to {DESK_LEVEL[role]} units,"
                        f" but {code!r} is {units[code].level}",
                    )
                if type(count) is not int or count <= 0:
                    self.fail(entry, f"desk count must be a positive whole number, got {count!r}")
                staffed.append(code)
                for n in range(1, count + 1):
                    username = f"p0-{n}" if role == "p0" else f"{role}-{code}-{n}"
                    plan.append((Role(role), code, username))
        plan += [(Role.SUPERVISOR, code, f"spv-{code}") for code in staffed]
        plan += [(Role.ADMIN, None, "admin" if n == 1 else f"admin-{n}")
                 for n in range(1, admins + 1)]

        if len(names) < len(plan):
            self.fail(
                where,
                f"the plan needs {len(plan)} names but names lists {len(names)};"
                f" add {len(plan) - len(names)} more",
            )
        return [
            StaffDef(
                username=username,
                full_name=names[i],
                role=role,
                unit_code=unit_code,
                email=f"{username}@{domain}",
                phone=f"{prefix}{i + 1:04d}",
            )
            for i, (role, unit_code, username) in enumerate(plan)
        ]

    @staticmethod
    def where(section: str, index: int, entry: Any) -> str:
        code = entry.get("code") if isinstance(entry, Mapping) else None
        return f"{section}[{index}] {code!r}" if isinstance(code, str) else f"{section}[{index}]"
