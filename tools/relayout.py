"""Give hub/ and workers/ the shape of their layers (issue 10, points 4 and 5): move modules and
their tests with ``git mv``, then re-point every reference in the tracked text files.

Run from anywhere inside the repository, on a clean tree, after the other issue-10 branches are
merged::

    python3 tools/relayout.py            # moves, rewrites, creates package __init__.py files
    python3 tools/relayout.py --dry-run  # only says what it would move

then ``make check`` and the tests. Standard library only (ruff, if ``.venv/bin/ruff`` exists, is
asked to re-sort the imports the rewrite touched; without it ``ruff check --fix`` does that).

It is idempotent and tolerant: a mapping whose source is gone is skipped with a warning (already
moved, or moved elsewhere by another branch), and a mapping whose target already exists while the
source still exists is refused (nothing is overwritten; fix the table and run again). References
are rewritten for every mapping whose target exists, so a second run re-points references that
arrived after the first one. At the end it names the modules left at the top of ``hub/`` and
``workers/`` that the table neither moves nor keeps on purpose, so a module added meanwhile is
noticed.

What is rewritten, in every tracked ``*.py *.md *.toml *.txt *.cfg *.ini *.service``, ``Procfile``,
``Makefile`` and ``.ci/*`` file:

- ``from hub import sla_ack, unread`` → ``from hub.tasks import acknowledgements as sla_ack`` and
  ``from hub.tasks import unread`` (the local name is kept, so the code below is untouched);
- dotted names anywhere, code or text: ``from hub.ws import x``, ``import hub.ws``,
  ``hub.sla_clocks.apply``, ``"hub.cli:main"``, ``-m workers.main``,
  ``importlib.import_module("workers.notify")``, ``monkeypatch.setattr("workers.sms.x", ..)``;
  a name that is already a module of the new layout (``hub.ws.endpoint``) is left alone, which is
  what makes a second run harmless where a package takes a module's name (hub/ws.py → hub/ws/);
- paths: ``hub/ws.py`` → ``hub/ws/endpoint.py``, ``workers/templates/`` →
  ``workers/notify/templates/``, ``tests/hub/test_ws_gc.py`` → ``tests/hub/ws/test_gc.py``.

Not rewritten (say it in review): bare file names without their folder in prose (``ws_gc.py``);
this file and tools/relayout_docs.md, which name the old paths on purpose; tests/test_layers.py,
written against the new layout already; and ``python -m hub.cli ...``, which keeps working
through the ``hub/cli/__main__.py`` the script creates. A comment or docstring paragraph that a
longer name pushed past 100 columns is re-filled; ruff's E501 findings that remain (code) are
printed for a person. After the run, ``make check`` reinstalls the package (pyproject.toml
changed: the ``ptsa`` entry point and the templates' package data).

If the other issue-10 branches renamed a module this table moves (``workers/notify.py``,
``notifier.py``, ``delivery.py``; ``hub/ws_protocol.py`` → channels/protocol.py), the script
warns about the missing source and names the module it found instead: add or edit its line in
``MOVES`` and run again.

Why this shape (the README's "What is inside" text is in tools/relayout_docs.md):

- ``hub/`` keeps only what every layer stands on or what wires a process: app.py (the web
  process's wiring), context.py, db.py, models.py, errors.py, validation.py, redis_clients.py.
- ``hub/tasks/``: the life of a permohonan, commands and supervisor commands, SLA clocks and their
  acknowledgements, how a task looks in JSON, search and unread counts.
- ``hub/reports/``: KPI, its targets and Excel export, the IKM (survey) report. Reports read
  what hub/tasks and hub/feedback write and never write back.
- ``hub/feedback/``: the applicant speaking back, survey and complaints.
- ``hub/queue/``: the hall (tickets, kiosk and display devices).
- ``hub/ws/``: everything of the ``/ws`` endpoint; the ``ws_`` prefix becomes the package.
  ``hub/ws_protocol.py`` is not in the table: the ``wiring`` branch moves it to
  channels/protocol.py (channels own the wire format); if it is still here, the script warns.
- ``hub/cli/``: the ``ptsa`` command (main.py), ``ptsa run`` (runner.py), ``ptsa check``
  (checks.py). The entry point becomes ``hub.cli.main:main``.
- ``workers/sla/``: SLA jobs, their scheduling, recording, sweep, escalation and the
  complaints' deadline. ``workers/notify/``: the notification outbox and everything that
  sends (SMTP, SMS gateway, texts and their templates).
- Deliberately left at ``workers/``: main.py and jobs.py ("everything the arq worker runs": it
  registers SLA *and* notify jobs, so it is the worker's wiring, not part of one service), and
  batching.py (group commit, used by both workers/sla and workers/notify; in either package it
  would make the other import sideways).

Names that changed because the old one no longer said what the module does: hub/ws.py →
hub/ws/endpoint.py, ws_auth → handshake (it is the Origin check and credentials *at the
handshake*, the accounts live in hub/auth), ws_gc → gc_governor, sla_clocks → clocks,
sla_ack → acknowledgements, admin_users → auth/accounts, workers/sla.py → sla/engine.py,
sla_record → sla/record, complaint_sla → sla/complaints, workers/notify.py → notify/outbox.py
(it *is* the outbox: rows first, sent from their row), notifier.py → notify/sender.py (claims,
hands over and records each row).
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

# Old path → new path, relative to the repository root. Files or folders.
MOVES: list[tuple[str, str]] = [
    # hub/auth: who someone is, and the staff accounts.
    ("hub/admin_users.py", "hub/auth/accounts.py"),
    # hub/tasks: the life of a permohonan.
    ("hub/commands.py", "hub/tasks/commands.py"),
    ("hub/supervise.py", "hub/tasks/supervise.py"),
    ("hub/sla_clocks.py", "hub/tasks/clocks.py"),
    ("hub/sla_ack.py", "hub/tasks/acknowledgements.py"),
    ("hub/serializers.py", "hub/tasks/serializers.py"),
    ("hub/search.py", "hub/tasks/search.py"),
    ("hub/unread.py", "hub/tasks/unread.py"),
    # hub/reports: read-only figures.
    ("hub/kpi.py", "hub/reports/kpi.py"),
    ("hub/kpi_excel.py", "hub/reports/kpi_excel.py"),
    ("hub/kpi_targets.py", "hub/reports/kpi_targets.py"),
    ("hub/skm_report.py", "hub/reports/skm_report.py"),
    # hub/feedback: the applicant speaking back.
    ("hub/survey.py", "hub/feedback/survey.py"),
    ("hub/complaints.py", "hub/feedback/complaints.py"),
    # hub/queue: the hall.
    ("hub/devices.py", "hub/queue/devices.py"),
    # hub/ws: the /ws endpoint.
    ("hub/ws.py", "hub/ws/endpoint.py"),
    ("hub/ws_auth.py", "hub/ws/handshake.py"),
    ("hub/ws_connection.py", "hub/ws/connection.py"),
    ("hub/ws_outbound.py", "hub/ws/outbound.py"),
    ("hub/ws_wire.py", "hub/ws/wire.py"),
    ("hub/ws_gc.py", "hub/ws/gc_governor.py"),
    ("hub/registry.py", "hub/ws/registry.py"),
    # hub/cli: the ptsa command.
    ("hub/cli.py", "hub/cli/main.py"),
    ("hub/runner.py", "hub/cli/runner.py"),
    ("hub/checks.py", "hub/cli/checks.py"),
    # workers/sla: clocks firing.
    ("workers/sla.py", "workers/sla/engine.py"),
    ("workers/schedule.py", "workers/sla/schedule.py"),
    ("workers/sla_record.py", "workers/sla/record.py"),
    ("workers/sweep.py", "workers/sla/sweep.py"),
    ("workers/escalation.py", "workers/sla/escalation.py"),
    ("workers/complaint_sla.py", "workers/sla/complaints.py"),
    # workers/notify: the outbox and everything that sends.
    ("workers/notify.py", "workers/notify/outbox.py"),
    ("workers/notifier.py", "workers/notify/sender.py"),
    ("workers/delivery.py", "workers/notify/delivery.py"),
    ("workers/email.py", "workers/notify/email.py"),
    ("workers/smtp_pool.py", "workers/notify/smtp_pool.py"),
    ("workers/sms.py", "workers/notify/sms.py"),
    ("workers/gsm.py", "workers/notify/gsm.py"),
    ("workers/texts.py", "workers/notify/texts.py"),
    ("workers/applicant.py", "workers/notify/applicant.py"),
    ("workers/templates", "workers/notify/templates"),
    # Tests mirror the code.
    ("tests/hub/test_ws_delivery.py", "tests/hub/ws/test_delivery.py"),
    ("tests/hub/test_ws_gc.py", "tests/hub/ws/test_gc_governor.py"),
    ("tests/hub/test_ws_outbound.py", "tests/hub/ws/test_outbound.py"),
    ("tests/hub/test_ws_protocol.py", "tests/hub/ws/test_protocol.py"),
    ("tests/hub/test_ws_reauthorise.py", "tests/hub/ws/test_reauthorise.py"),
    ("tests/hub/test_ws_registry.py", "tests/hub/ws/test_registry.py"),
    ("tests/hub/test_ws_resilience.py", "tests/hub/ws/test_resilience.py"),
    ("tests/hub/test_ws_security.py", "tests/hub/ws/test_security.py"),
    ("tests/hub/test_ws_wire.py", "tests/hub/ws/test_wire.py"),
    ("tests/hub/test_state_machine.py", "tests/hub/tasks/test_state_machine.py"),
    ("tests/hub/test_concurrency.py", "tests/hub/tasks/test_concurrency.py"),
    ("tests/hub/test_stuck_requests.py", "tests/hub/tasks/test_stuck_requests.py"),
    ("tests/hub/test_supervision_rules.py", "tests/hub/tasks/test_supervision_rules.py"),
    ("tests/hub/test_sla_policy.py", "tests/hub/tasks/test_sla_policy.py"),
    ("tests/hub/test_registration_codes.py", "tests/hub/tasks/test_registration_codes.py"),
    ("tests/hub/test_kpi_excel.py", "tests/hub/reports/test_kpi_excel.py"),
    ("tests/hub/test_cli.py", "tests/hub/cli/test_cli.py"),
    ("tests/hub/test_run.py", "tests/hub/cli/test_run.py"),
    ("tests/hub/test_staffing_checks.py", "tests/hub/cli/test_staffing_checks.py"),
    ("tests/hub/test_staff_edit.py", "tests/hub/cli/test_staff_edit.py"),
    ("tests/hub/test_api_auth.py", "tests/hub/api/test_auth.py"),
    ("tests/hub/test_api_complaints.py", "tests/hub/api/test_complaints.py"),
    ("tests/hub/test_api_contract.py", "tests/hub/api/test_contract.py"),
    ("tests/hub/test_api_csrf.py", "tests/hub/api/test_csrf.py"),
    ("tests/hub/test_api_documents.py", "tests/hub/api/test_documents.py"),
    ("tests/hub/test_api_lifecycle.py", "tests/hub/api/test_lifecycle.py"),
    ("tests/hub/test_api_listing.py", "tests/hub/api/test_listing.py"),
    ("tests/hub/test_api_search.py", "tests/hub/api/test_search.py"),
    ("tests/hub/test_api_skm.py", "tests/hub/api/test_skm.py"),
    ("tests/hub/test_api_sla_ack.py", "tests/hub/api/test_sla_ack.py"),
    ("tests/hub/test_api_supervision.py", "tests/hub/api/test_supervision.py"),
    ("tests/hub/test_api_survey.py", "tests/hub/api/test_survey.py"),
    ("tests/hub/test_api_tracking.py", "tests/hub/api/test_tracking.py"),
    ("tests/hub/test_api_unread.py", "tests/hub/api/test_unread.py"),
    ("tests/hub/test_api_validation.py", "tests/hub/api/test_validation.py"),
    ("tests/hub/test_queue_api.py", "tests/hub/api/test_queue.py"),
    ("tests/hub/test_openapi_statuses.py", "tests/hub/api/test_openapi_statuses.py"),
    ("tests/workers/test_sla_breach.py", "tests/workers/sla/test_breach.py"),
    ("tests/workers/test_sla_p1_handling.py", "tests/workers/sla/test_p1_handling.py"),
    ("tests/workers/test_sla_sweep.py", "tests/workers/sla/test_sweep.py"),
    ("tests/workers/test_complaint_deadline.py", "tests/workers/sla/test_complaint_deadline.py"),
    ("tests/workers/test_notify.py", "tests/workers/notify/test_outbox.py"),
    ("tests/workers/test_notify_crash.py", "tests/workers/notify/test_crash.py"),
    ("tests/workers/test_notify_texts.py", "tests/workers/notify/test_texts.py"),
    ("tests/workers/test_applicant_messages.py", "tests/workers/notify/test_applicant.py"),
    ("tests/workers/test_email.py", "tests/workers/notify/test_email.py"),
    ("tests/workers/test_gsm.py", "tests/workers/notify/test_gsm.py"),
    ("tests/workers/test_sms.py", "tests/workers/notify/test_sms.py"),
]

# New packages and the one line that says what the layer is.
PACKAGES: dict[str, str] = {
    "hub/tasks": "The life of a permohonan: task commands, supervision, SLA clocks and their "
    "acknowledgements, how a task looks in JSON, search and unread counts.",
    "hub/reports": "Figures read from what tasks and feedback recorded: KPI, KPI targets, the IKM "
    "report. Reports never write.",
    "hub/feedback": "The applicant speaking back: the SKM survey and complaints (pengaduan).",
    "hub/queue": "The hall: antrean tickets, loket, and the kiosk and display devices.",
    "hub/ws": "The /ws endpoint: handshake, one connection, its outgoing frames, the registry of "
    "open sockets.",
    "hub/cli": "The ptsa command: run, web, worker, init-db, seed, user, check.",
    "workers/sla": "SLA clocks firing: scheduling, warnings and breaches recorded once, the sweep, "
    "escalation, the complaints' deadline.",
    "workers/notify": "The notification outbox and everything that sends: SMTP, the SMS gateway, "
    "the texts.",
}

# Top-level modules that stay where they are on purpose (everything else is reported).
KEEP = {
    "hub/__init__.py", "hub/app.py", "hub/context.py", "hub/db.py", "hub/models.py",
    "hub/errors.py", "hub/validation.py", "hub/redis_clients.py",
    "workers/__init__.py", "workers/main.py", "workers/jobs.py", "workers/batching.py",
}

# Files that name the old paths on purpose.
# tests/test_layers.py is written against the new layout already ("hub.ws" there is the package).
SKIP_FILES = {"tools/relayout.py", "tools/relayout_docs.md", "tests/test_layers.py"}

# Packages that take the name of a module run with ``python -m``: they get a ``__main__.py``
# calling the moved module's ``main``, so ``python -m hub.cli worker`` (the runner, the tests,
# the benchmarks) keeps its meaning and its line length.
MAIN_PACKAGES: dict[str, str] = {"hub/cli": "hub.cli.main"}
TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt", ".cfg", ".ini", ".service", ".sh", ".yml"}
TEXT_NAMES = {"Procfile", "Makefile"}

PY_DIRS = ["hub", "channels", "workers", "web", "config", "tests", "bench", "tools"]
PACKAGE_DATA_LINE = '"workers.notify" = ["templates/*"]'


def warn(message: str) -> None:
    print(f"relayout: {message}", file=sys.stderr)


def module_of(path: str) -> str | None:
    """``hub/ws.py`` → ``hub.ws``; a folder → its dotted name; anything else → None."""
    p = Path(path)
    if p.suffix == ".py":
        parts = p.with_suffix("").parts
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    if p.suffix == "":
        return ".".join(p.parts)
    return None


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def apply_moves(root: Path, dry_run: bool) -> list[tuple[str, str, bool]]:
    """Move what is still at its old place; return every mapping whose target now exists, and
    whether this run moved it."""
    # Check every move before making any, so a refusal leaves the tree as it was.
    for old, new in MOVES:
        src, dst = root / old, root / new
        if not src.exists():
            continue
        if dst.exists():
            sys.exit(f"relayout: refusing {old} → {new}: {new} exists already; fix the table")
        blocking = [p for p in dst.parents if p.exists() and not p.is_dir()]
        if blocking:
            sys.exit(f"relayout: refusing {old} → {new}: {blocking[0].relative_to(root)} is a file")
    active: list[tuple[str, str, bool]] = []
    for old, new in MOVES:
        src, dst = root / old, root / new
        if not src.exists():
            if dst.exists():
                active.append((old, new, False))
            else:
                warn(f"skip {old} → {new}: {old} does not exist (moved elsewhere? add a mapping)")
            continue
        if dst.exists():
            sys.exit(f"relayout: refusing {old} → {new}: {new} exists already; fix the table")
        print(f"git mv {old} {new}")
        if not dry_run:
            dst.parent.mkdir(parents=True, exist_ok=True)
            git(root, "mv", old, new)
        active.append((old, new, True))
    return active


def create_packages(root: Path, dry_run: bool) -> None:
    for folder, line in PACKAGES.items():
        init = root / folder / "__init__.py"
        if (root / folder).is_dir() and not init.exists():
            print(f"create {folder}/__init__.py")
            if not dry_run:
                body = textwrap.fill(line, width=96)
                init.write_text(f'"""{body}"""\n', encoding="utf-8")
                git(root, "add", str(init.relative_to(root)))


def create_main_modules(root: Path) -> None:
    for folder, module in MAIN_PACKAGES.items():
        main_py = root / folder / "__main__.py"
        if (root / folder).is_dir() and not main_py.exists():
            print(f"create {folder}/__main__.py")
            package = folder.replace("/", ".")
            doc = f'"""``python -m {package}``: the same as the ``ptsa`` command."""'
            # main() returns the exit status (2 for a refused command): pass it on.
            main_py.write_text(f"{doc}\n\nimport sys\n\nfrom {module} import main\n\n"
                               "sys.exit(main())\n", encoding="utf-8")
            git(root, "add", str(main_py.relative_to(root)))


def known_modules(root: Path) -> set[str]:
    """Every module and package of the tree as it is now (after the moves)."""
    names: set[str] = set()
    for top in ("hub", "channels", "workers", "web", "config", "tests", "bench"):
        for path in (root / top).rglob("*.py"):
            if ".venv" in path.parts:
                continue
            module = module_of(str(path.relative_to(root)))
            if module:
                names.add(module)
                parts = module.split(".")
                names.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return names


class Rewriter:
    def __init__(self, active: list[tuple[str, str, bool]], modules: set[str]) -> None:
        self.modules = modules
        self.dotted: dict[str, str] = {}
        self.paths: list[tuple[re.Pattern[str], str]] = []
        for old, new, moved_now in active:
            old_mod, new_mod = module_of(old), module_of(new)
            # A module whose name a package took (hub/ws.py → hub/ws/): once moved, a bare
            # "hub.ws" means the package, so its dotted name is re-pointed only in the run that
            # moves it (its paths always are; they are unambiguous).
            taken = old_mod in modules and not moved_now
            if old_mod and new_mod and old.endswith(".py") and not taken:
                self.dotted[old_mod] = new_mod
            # Paths: a path starts after a space, quote, backtick, bracket or "./".
            self.paths.append((re.compile(r"(?<![\w/.-])" + re.escape(old) + r"(?![\w])"), new))
        alternatives = "|".join(re.escape(m) for m in sorted(self.dotted, key=len, reverse=True))
        self.dotted_re = re.compile(r"(?<![\w.])(" + alternatives + r")(?![\w])(\.(\w+))?")
        self.from_re = re.compile(
            r"^([ \t]*)from[ \t]+([\w.]+)[ \t]+import[ \t]+([^(\n#]+?)[ \t]*$", re.MULTILINE)

    def _from_package(self, match: re.Match[str]) -> str:
        """``from hub import sla_ack, unread as u`` where the names are moved modules."""
        indent, package, names = match.group(1), match.group(2), match.group(3)
        kept: list[str] = []
        lines: list[str] = []
        for item in names.split(","):
            item = item.strip()
            if not item:
                continue
            name, _, alias = item.partition(" as ")
            name, alias = name.strip(), alias.strip()
            old = f"{package}.{name}"
            new = self.dotted.get(old)
            if new is None or old in self.modules:
                kept.append(item)
                continue
            parent, _, leaf = new.rpartition(".")
            local = alias or name
            lines.append(f"{indent}from {parent} import {leaf}"
                         + ("" if local == leaf else f" as {local}"))
        if not lines:
            return match.group(0)
        if kept:
            lines.insert(0, f"{indent}from {package} import {', '.join(kept)}")
        return "\n".join(lines)

    def _dotted(self, match: re.Match[str]) -> str:
        old, rest, attr = match.group(1), match.group(2) or "", match.group(3)
        if attr and f"{old}.{attr}" in self.modules:
            return match.group(0)  # already the new layout (hub.ws.endpoint), or a real module
        if not attr and old.replace(".", "/") in MAIN_PACKAGES:
            # "python -m hub.cli worker" still runs (the package's __main__.py); only imports
            # and entry points ("hub.cli:main") must name the module.
            before = match.string[max(0, match.start() - 8):match.start()]
            after = match.string[match.end():match.end() + 1]
            if after != ":" and not re.search(r"(from|import)\s+$", before):
                return match.group(0)
        return self.dotted[old] + rest

    def rewrite(self, text: str, is_python: bool) -> str:
        if not self.dotted:
            return text
        # Dotted names first: the from-package pass writes new names ("from workers.sla import
        # escalation") that the dotted pass would read as old ones (workers.sla, the module).
        text = self.dotted_re.sub(self._dotted, text)
        if is_python:
            text = self.from_re.sub(self._from_package, text)
        for pattern, new in self.paths:
            text = pattern.sub(new, text)
        return text


def tracked_text_files(root: Path) -> list[Path]:
    files = []
    for name in git(root, "ls-files").splitlines():
        path = Path(name)
        if name in SKIP_FILES or not (root / path).is_file():
            continue
        if (path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES
                or path.parts[0] in (".ci", "deploy")):
            files.append(root / path)
    return files


def add_package_data(root: Path) -> bool:
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    if not (root / "workers/notify/templates").is_dir() or PACKAGE_DATA_LINE in text:
        return False
    header = "[tool.setuptools.package-data]\n"
    if header not in text:
        warn("pyproject.toml has no [tool.setuptools.package-data]; add " + PACKAGE_DATA_LINE)
        return False
    pyproject.write_text(text.replace(header, header + PACKAGE_DATA_LINE + "\n"), encoding="utf-8")
    return True


LINE_LENGTH = 100
NOT_PROSE = re.compile(r"^\s*([-*+] |\d+[.)] |>>>|\.\. |::)|::\s*$|^\s*$")


def docstring_lines(tree: ast.AST) -> set[int]:
    """Line numbers (1-based) inside docstrings."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str) and body[0].end_lineno):
                lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def reflow_long_prose(text: str) -> str:
    """Re-fill paragraph after paragraph until none holds a long line (each re-fill can move the
    lines below it, so the docstrings are found again after each)."""
    for _ in range(200):
        new = reflow_one_paragraph(text)
        if new == text:
            return text
        text = new
    return text


def reflow_one_paragraph(text: str) -> str:
    """Re-fill the paragraphs of comments and docstrings that hold a line over LINE_LENGTH.

    A paragraph is a run of lines with the same indent and kind (all ``#`` comments, or all in
    one docstring) between blank lines; lists, literal blocks and doctests are not prose and are
    left alone. Whitespace inside a docstring is all that changes, so the code is untouched.
    """
    try:
        in_doc = docstring_lines(ast.parse(text))
    except SyntaxError:
        return text
    lines = text.split("\n")

    def kind(i: int) -> tuple[str, str] | None:
        line = lines[i]
        indent = line[: len(line) - len(line.lstrip())]
        if line.lstrip().startswith("# "):
            return ("comment", indent)
        if i + 1 in in_doc and not NOT_PROSE.search(line):
            return ("doc", indent)
        return None

    i = 0
    while i < len(lines):
        if (len(lines[i]) <= LINE_LENGTH or kind(i) is None
                or "noqa" in lines[i] or "http" in lines[i]):
            i += 1
            continue
        this = kind(i)
        start, end = i, i
        while (start > 0 and kind(start - 1) == this
               and not lines[start - 1].rstrip().endswith('"""')):
            start -= 1
        while (end + 1 < len(lines) and kind(end + 1) == this
               and not lines[end].rstrip().endswith('"""')):
            end += 1
        assert this is not None
        indent = this[1]
        if this[0] == "comment":
            words = " ".join(line.strip()[2:] for line in lines[start:end + 1])
            first = rest = indent + "# "
        else:
            words = " ".join(line.strip() for line in lines[start:end + 1])
            opening = next((q for q in ('r"""', '"""') if words.startswith(q)), "")
            words = words[len(opening):]
            first, rest = indent + opening, indent
        filled = textwrap.wrap(words, width=LINE_LENGTH, initial_indent=first,
                               subsequent_indent=rest, break_long_words=False,
                               break_on_hyphens=False)
        if filled == lines[start:end + 1]:
            i = end + 1
            continue  # one word longer than the line: nothing to gain
        lines[start:end + 1] = filled
        return "\n".join(lines)
    return text


def report_unplaced(root: Path) -> None:
    for top in ("hub", "workers"):
        for path in sorted((root / top).glob("*.py")):
            rel = str(path.relative_to(root))
            if rel not in KEEP:
                warn(f"{rel} is neither moved nor kept by the table: place it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true",
                        help="say what would move; change nothing")
    args = parser.parse_args()
    root = Path(git(Path.cwd(), "rev-parse", "--show-toplevel").strip())

    active = apply_moves(root, args.dry_run)
    if args.dry_run:
        return
    create_packages(root, args.dry_run)
    create_main_modules(root)
    rewriter = Rewriter(active, known_modules(root))
    changed: list[Path] = []
    for path in tracked_text_files(root):
        text = path.read_text(encoding="utf-8")
        new = rewriter.rewrite(text, path.suffix == ".py")
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    if add_package_data(root):
        changed.append(root / "pyproject.toml")
    print(f"rewrote references in {len(changed)} files")
    # A longer dotted name can push a docstring or comment line past ruff's 100 columns: the
    # paragraph it stands in is re-filled; what is not plain prose is left for a person.
    for path in tracked_text_files(root):
        if path.suffix != ".py":
            continue
        text = path.read_text(encoding="utf-8")
        new = reflow_long_prose(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
    ruff = root / ".venv/bin/ruff"
    if ruff.exists():
        # The moved names sort differently: let ruff put the import blocks back in order (the
        # whole tree, so a second run also tidies after a first run that had no ruff).
        subprocess.run([str(ruff), "check", "--quiet", "--select", "I", "--fix", *PY_DIRS],
                       cwd=root, check=False)
        # What the re-fill could not shorten (code, lists) is for a person.
        long_lines = subprocess.run(
            [str(ruff), "check", "--select", "E501", "--output-format", "concise", *PY_DIRS],
            cwd=root, check=False, capture_output=True, text=True).stdout
        for line in long_lines.splitlines():
            if "E501" in line:
                warn(f"re-wrap by hand: {line}")
    else:
        warn("no .venv/bin/ruff: run `ruff check --select I,E501 --fix` and re-wrap long lines")
    report_unplaced(root)

if __name__ == "__main__":
    main()
