"""The event loop of the long-running processes (``hub.cli.loop``): uvloop where it imports,
asyncio's own where it does not or where ``PTSA_LOOP=asyncio`` asks for it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import load_settings
from hub.cli import loop
from hub.cli.runner import web_command
from hub.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]


def test_uvloop_is_chosen_where_it_installs() -> None:
    pytest.importorskip("uvloop")  # declared for every platform but Windows
    assert loop.loop_name() == loop.UVLOOP
    cmd = web_command(load_settings({}))
    assert cmd[cmd.index("--loop") + 1] == "uvloop"
    made = loop.loop_factory()()
    try:
        assert type(made).__module__.startswith("uvloop")
    finally:
        made.close()


def test_asyncio_can_be_asked_for() -> None:
    settings = load_settings({"PTSA_LOOP": "asyncio"})
    assert settings.event_loop == "asyncio"
    assert loop.loop_name(settings.event_loop) == loop.ASYNCIO
    assert loop.loop_factory(settings.event_loop) is asyncio.new_event_loop
    cmd = web_command(settings)
    assert cmd[cmd.index("--loop") + 1] == "asyncio"


def test_a_misspelt_loop_is_refused_with_the_choices() -> None:
    with pytest.raises(ConfigError, match="PTSA_LOOP must be 'auto', 'uvloop' or 'asyncio'"):
        load_settings({"PTSA_LOOP": "uv-loop"})


def test_without_uvloop_everything_falls_back_to_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    """A None entry in sys.modules makes ``import uvloop`` raise ImportError, as on Windows."""
    monkeypatch.setitem(sys.modules, "uvloop", None)
    assert not loop.uvloop_available()
    assert loop.loop_name("uvloop") == loop.ASYNCIO
    assert loop.loop_factory() is asyncio.new_event_loop
    cmd = web_command(load_settings({}))
    assert cmd[cmd.index("--loop") + 1] == "asyncio"


def test_install_makes_it_the_current_loop_for_get_event_loop() -> None:
    """arq's worker asks ``asyncio.get_event_loop()``; ``install`` is what it then gets."""
    script = ("import asyncio, warnings; warnings.simplefilter('ignore')\n"
              "from hub.cli.loop import install\n"
              "name = install()\n"
              "print(name, type(asyncio.get_event_loop()).__module__)\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out[0] in (loop.UVLOOP, loop.ASYNCIO)
    assert out[1].startswith("uvloop" if out[0] == loop.UVLOOP else "asyncio")

