"""The packages import downwards only: read with ``ast``, no module is imported to check."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Where a process is wired together: the only hub modules that may import web/ or workers/.
WIRING = {"hub/app.py", "hub/cli.py", "hub/runner.py"}
# What channels/ may use of hub: the floor (tables, database, errors, pure rules, who asks).
CHANNELS_MAY_USE = ("hub.models", "hub.db", "hub.errors", "hub.domain", "hub.auth.principal")


def imports(path: Path) -> list[str]:
    """Every module ``path`` imports, at the top or inside functions, typing-only ones too."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            found.append("<importlib>")
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def named(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("package", ["hub", "channels"])
def test_hub_and_channels_never_import_web_or_workers_outside_the_wiring(package: str) -> None:
    """Only a process's wiring (create_app, the CLI, the runner) reaches up to web/ or workers/."""
    upward = {named(p): sorted({m for m in imports(p) if m.split(".")[0] in ("web", "workers")})
              for p in modules(package) if named(p) not in WIRING}
    assert {p: m for p, m in upward.items() if m} == {}


def test_channels_use_only_the_floor_of_hub() -> None:
    """channels/ owns the wire format and uses no hub module above tables, rules and errors."""
    wrong = {named(p): sorted({m for m in imports(p) if m.startswith("hub.")
                               and not m.startswith(CHANNELS_MAY_USE)})
             for p in modules("channels")}
    assert {p: m for p, m in wrong.items() if m} == {}


def test_web_uses_no_api_route_module_for_shared_logic() -> None:
    """The pages share logic with the API through non-route modules, not through hub/api/."""
    wrong = {named(p): sorted({m for m in imports(p) if m.startswith("hub.api")})
             for p in modules("web")}
    assert {p: m for p, m in wrong.items() if m} == {}


def test_no_module_is_imported_by_a_name_in_a_string() -> None:
    """No hidden ``importlib.import_module``: every dependency shows in the import lines."""
    hidden = [named(p) for package in ("hub", "channels", "web", "workers")
              for p in modules(package) if "<importlib>" in imports(p)]
    assert hidden == []
