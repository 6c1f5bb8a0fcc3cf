"""No module imports from a layer above its own (issue 10): the floor knows nothing of the
services, the services nothing of the edges, the edges nothing of the process wiring; the edges
(socket, API, pages) import none of each other; no module is loaded by a name in a string.
The allow-lists name the exceptions and why; an entry that is gone fails too, so they only
shrink. ``pytest -q tests/test_layers.py`` prints every offending import.

Every import counts, also one inside a function and ``importlib.import_module("...")`` with a
literal name, because a lazy import is still a dependency; only names imported for annotations
under ``if TYPE_CHECKING:`` are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "hub", "channels", "workers", "web")

# Lowest first. A module belongs to the layer of its longest matching prefix; it may import its
# own layer and any below.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    # Pure rules and the vocabulary every layer speaks: no I/O.
    # channels.names is here because it is pure too: the one builder of channel names and Redis
    # keys, which storage (sessions, throttle, redis_clients) needs as much as channels do.
    ("floor", ("config", "hub.errors", "hub.domain", "channels.names")),
    # Storage and identity: tables, the database, input checks, who someone is.
    # hub.background (how background loops stop: between rounds, never inside a database call)
    # stands with the database it protects; the relay in channels is its lowest user.
    ("storage", ("hub.models", "hub.db", "hub.validation", "hub.redis_clients", "hub.auth",
                 "hub.background")),
    # Redis pub/sub, the outbox, channel names, the wire format.
    # hub.ws_protocol is the wire format's frames: its home is channels/protocol.py (the
    # ``wiring`` branch moves it); where it still stands in hub/, it counts as what it is.
    ("channels", ("channels", "hub.ws_protocol")),
    # What the product does: tasks, reports, feedback, the hall, the worker's services.
    # hub.auth.accounts (staff accounts: ``ptsa user``, the admin pages) is a service although it
    # lives in hub/auth: changing a person's unit or role releases what they held (hub.tasks).
    # config.seed writes demo data through the models: a service, not a setting.
    # hub.drain is the process's drain state (SIGTERM under PTSA_DRAIN) that hub.context holds.
    ("services", ("hub.tasks", "hub.reports", "hub.feedback", "hub.queue", "hub.context",
                  "hub.drain",
                  "hub.auth.accounts", "config.seed",
                  "workers.sla", "workers.notify", "workers.batching")),
    # Where requests arrive: the socket, the JSON API, the pages.
    ("edges", ("hub.ws", "hub.api", "web")),
    # What wires a process together and starts it.
    ("wiring", ("hub.app", "hub.cli", "workers.main", "workers.jobs", "workers.context")),
]

# Upward imports that exist today, each with why and who removes it. An entry that no longer
# occurs fails the test, so the list only shrinks. (importer, imported module)
ALLOWED: set[tuple[str, str]] = {
    # The SQL twin of ``can_view`` stands beside it (issue 10: one rule, one place): it builds
    # a condition over the Task table and does no I/O, but it has to name the table.
    ("hub.domain.visibility", "hub.models"),
}


# The edges stand side by side: a page does not call an API route module, nor the socket a page.
# What two edges share belongs in a service below them. (importer, imported module)
EDGES = ("hub.ws", "hub.api", "web")
ALLOWED_BETWEEN_EDGES: set[tuple[str, str]] = set()

# A module imported by name at run time is a dependency nobody sees when reading the imports.
ALLOWED_BY_NAME: set[tuple[str, str]] = set()


def layer_of(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, layer index)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), index)
    return None if best is None else best[1]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every project module ``path`` imports, wherever in the file the import stands."""
    return {name for name in _imports(path) if name.split(".")[0] in PACKAGES}


def imports_by_name(path: Path) -> set[str]:
    """The project modules ``path`` loads with ``importlib.import_module("...")``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module" and node.args
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
            and node.args[0].value.split(".")[0] in PACKAGES}


def _type_checking_only(tree: ast.Module) -> set[ast.AST]:
    """Nodes under ``if TYPE_CHECKING:``: names for annotations, never loaded at run time (a
    service may name the context that hands it its parts without depending on it)."""
    skipped: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            for child in node.body:
                skipped.update(ast.walk(child))
    return skipped


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    skipped = _type_checking_only(tree)
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # "from hub.tasks import unread" imports the module hub.tasks.unread, not only the
            # package.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    return found


def project_modules() -> dict[str, Path]:
    return {module_name(path): path
            for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


def upward_imports() -> set[tuple[str, str]]:
    modules = project_modules()
    found = set()
    for importer, path in modules.items():
        if importer in PACKAGES:
            continue  # the empty top-level __init__.py files
        own = layer_of(importer)
        assert own is not None, f"{importer} is in no layer: add its prefix to LAYERS"
        for imported in imports_of(path):
            if imported not in modules or imported in PACKAGES:
                continue  # "from hub.api import x" also yields hub.api.x, a function, not a module
            theirs = layer_of(imported)
            if theirs is not None and theirs > own:
                found.add((importer, imported))
    return found


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    """Every import points at the importer's own layer or one below, except the listed ones."""
    upward = upward_imports()
    unexpected = sorted(upward - ALLOWED)
    assert not unexpected, "imports from a layer above:\n" + "\n".join(
        f"  {importer} → {imported} ({LAYERS[layer_of(imported) or 0][0]})"
        for importer, imported in unexpected)


def test_every_allowed_upward_import_still_exists() -> None:
    """An allow-list entry whose import is gone fails, so the list only ever shrinks."""
    gone = sorted(ALLOWED - upward_imports())
    assert not gone, f"remove from ALLOWED, these imports are gone: {gone}"


def edge_of(module: str) -> str | None:
    return next((e for e in EDGES if module == e or module.startswith(e + ".")), None)


def imports_between_edges() -> set[tuple[str, str]]:
    modules = project_modules()
    return {(importer, imported)
            for importer, path in modules.items() if edge_of(importer)
            for imported in imports_of(path)
            if imported in modules and edge_of(imported) not in (None, edge_of(importer))}


def test_hub_and_channels_never_import_the_worker_or_the_pages() -> None:
    """hub/ and channels/ serve both processes: only a process's wiring (create_app, the CLI)
    reaches into workers/ or web/, so the web process never loads the worker's code by accident
    and the worker never loads the pages."""
    wiring = ("hub.app", "hub.cli")
    found = sorted((importer, imported) for importer, path in project_modules().items()
                   if importer.split(".")[0] in ("hub", "channels")
                   and not any(importer == w or importer.startswith(w + ".") for w in wiring)
                   for imported in imports_of(path) if imported.split(".")[0] in ("web", "workers"))
    assert found == [], found


def test_no_edge_imports_another_edge() -> None:
    """The socket, the API and the pages import none of each other, except the listed ones."""
    found = imports_between_edges()
    new = sorted(found - ALLOWED_BETWEEN_EDGES)
    assert not new, "between edges:\n" + "\n".join(f"  {a} → {b}" for a, b in new)
    gone = sorted(ALLOWED_BETWEEN_EDGES - found)
    assert not gone, f"remove from ALLOWED_BETWEEN_EDGES, these imports are gone: {gone}"


def test_no_module_is_imported_by_a_name_in_a_string() -> None:
    """``importlib.import_module`` names no project module, except the listed ones."""
    found = {(importer, imported) for importer, path in project_modules().items()
             for imported in imports_by_name(path)}
    assert found == ALLOWED_BY_NAME, (
        f"new: {sorted(found - ALLOWED_BY_NAME)}; gone (remove from ALLOWED_BY_NAME): "
        f"{sorted(ALLOWED_BY_NAME - found)}")
