"""The hall queue's configuration: the ``[queue]`` section of ``config/organisation.toml``.

Groups are the ticket prefixes on the kiosk (``A`` = Informasi & Data, ...) with the services each
leads to; counters (``loket-3``) call the groups listed for them. Checked at start-up with a
message naming the entry, like the rest of the catalogue.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from config.catalog import DEFAULT_PATH, load_catalog
from hub.domain.queue import COUNTER_CODE, GROUP_CODE
from hub.errors import ConfigError


@dataclass(frozen=True)
class QueueGroup:
    code: str
    name: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class QueueCounter:
    code: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class QueueConfig:
    groups: tuple[QueueGroup, ...]
    counters: tuple[QueueCounter, ...]
    default_minutes_per_applicant: float

    def group(self, code: str) -> QueueGroup | None:
        return next((g for g in self.groups if g.code == code), None)

    def counter(self, code: str) -> QueueCounter | None:
        return next((c for c in self.counters if c.code == code), None)


@lru_cache(maxsize=4)
def load_queue_config(path: Path | None = None) -> QueueConfig:
    path = path or DEFAULT_PATH
    with path.open("rb") as fh:
        raw: dict[str, Any] = tomllib.load(fh).get("queue") or {}
    services = {s.code for s in load_catalog(path).services}

    def fail(where: str, problem: str) -> ConfigError:
        return ConfigError(f"{path}: [queue] {where}: {problem}", file=str(path), entry=where)

    groups: list[QueueGroup] = []
    for i, entry in enumerate(raw.get("groups") or []):
        code = str(entry.get("code", ""))
        if not GROUP_CODE.match(code) or any(g.code == code for g in groups):
            raise fail(f"groups[{i}]", f"code must be one unique capital letter; got {code!r}")
        listed = tuple(str(s) for s in entry.get("services") or [])
        unknown = [s for s in listed if s not in services]
        if unknown:
            raise fail(f"groups[{i}]", f"unknown services {unknown}")
        groups.append(QueueGroup(code, str(entry.get("name") or code), listed))
    counters: list[QueueCounter] = []
    for i, entry in enumerate(raw.get("counters") or []):
        code = str(entry.get("code", ""))
        if not COUNTER_CODE.match(code) or any(c.code == code for c in counters):
            raise fail(f"counters[{i}]", f"code must be a unique slug like loket-3; got {code!r}")
        served = tuple(str(g) for g in entry.get("groups") or [])
        if not served or any(all(g.code != s for g in groups) for s in served):
            raise fail(f"counters[{i}]", f"groups must name groups above; got {list(served)}")
        counters.append(QueueCounter(code, served))
    minutes = float(raw.get("default_minutes_per_applicant", 5))
    if minutes <= 0:
        raise fail("default_minutes_per_applicant", "must be positive")
    return QueueConfig(tuple(groups), tuple(counters), minutes)
