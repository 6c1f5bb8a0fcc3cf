"""Languages of the staff screens: Indonesian by default, English by choice.

Strings live in gettext catalogues (``web/locale/<lang>/LC_MESSAGES/messages.po``), with English
msgids. The ``.po`` files are compiled in memory when the app starts, so a fresh clone works
without a build step and no compiled ``.mo`` file can go stale against its ``.po``.

The language of a request is, in order: ``?lang=`` (also stored, see ``web.views.auth``), the
signed-in staff member's ``staff.language``, the ``ptsa_lang`` cookie, then Indonesian.
Dates are shown in the configured zone (Asia/Jakarta) in the language's own format.
"""

from __future__ import annotations

import gettext as gettext_module
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import date, datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
LANG_COOKIE = "ptsa_lang"
BABEL_LOCALES = {"id": "id_ID", "en": "en_GB"}
# Indonesian writes times with a dot (10.05); English with a colon.
_DATETIME = {"id": "d MMM y HH.mm", "en": "d MMM y, HH:mm"}
_DATETIME_LONG = {"id": "EEEE, d MMMM y, HH.mm z", "en": "EEEE d MMMM y, HH:mm z"}
_DATE = {"id": "EEEE, d MMMM y", "en": "EEEE d MMMM y"}

_current: ContextVar[str] = ContextVar("ptsa_language", default=DEFAULT_LANGUAGE)


def normalise_language(value: str | None) -> str | None:
    """``id``/``en`` (also ``id-ID``, ``EN``), or None for anything else."""
    if not value:
        return None
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else None


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> gettext_module.NullTranslations:
    """The compiled catalogue of ``language`` (compiled from its ``.po`` once per process)."""
    po_path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return gettext_module.NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=BABEL_LOCALES[language])
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def load_all() -> None:
    """Compile every catalogue now, so a broken ``.po`` fails at start-up, not on a page."""
    for language in LANGUAGES:
        translations(language)


def set_language(language: str) -> None:
    _current.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def current_language() -> str:
    return _current.get()


def gettext(message: str, **variables: Any) -> str:
    """Translate ``message`` into the current request's language; ``%(name)s`` placeholders are
    filled from ``variables`` (Jinja2's new-style gettext calls it the same way)."""
    text = translations(_current.get()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    text = translations(_current.get()).ngettext(singular, plural, n)
    variables.setdefault("num", n)
    return text % variables


_ = gettext


def N_(message: str) -> str:
    """Mark a string for the catalogue without translating it yet (translated when shown)."""
    return message


def format_when(value: datetime | str | None, tz: ZoneInfo, style: str = "short") -> str:
    """A moment in ``tz`` in the current language: ``27 Nov 2026 10.05`` (short) or
    ``Jumat, 27 November 2026, 10.05 WIB`` (long)."""
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    language = _current.get()
    pattern = (_DATETIME_LONG if style == "long" else _DATETIME)[language]
    return format_datetime(value, pattern, tzinfo=tz, locale=BABEL_LOCALES[language])


def format_day(value: date | datetime, tz: ZoneInfo | None = None) -> str:
    if isinstance(value, datetime):
        value = value.astimezone(tz).date() if tz else value.date()
    language = _current.get()
    return format_date(value, _DATE[language], locale=BABEL_LOCALES[language])


def js_strings(keys: Mapping[str, str]) -> dict[str, str]:
    """The JavaScript's strings, translated: ``{key: msgid}`` → ``{key: translation}``."""
    return {key: gettext(msgid) for key, msgid in keys.items()}
