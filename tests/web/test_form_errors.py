"""Form errors are shown by their stable reason and parameters, in the page's language."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.errors import Conflict, InvalidInput, Reason
from hub.validation import require_text
from web.forms import FormErrors, localise, message_for
from web.i18n import DEFAULT_LANGUAGE, set_language


@pytest.fixture(autouse=True)
def _language_back() -> Iterator[None]:
    yield
    set_language(DEFAULT_LANGUAGE)


def test_every_reason_has_a_screen_message() -> None:
    """No reason falls back to the English API message on a form."""
    set_language("id")
    params = {"n": 3, "max": 2, "who": "Budi (budi)", "unit": "pusdatin"}
    assert [r for r in Reason if not message_for(r, **params)] == []


def test_the_message_follows_the_reason_not_the_english_text() -> None:
    """Rewording the API message changes nothing on the screen; the reason and params decide."""
    set_language("id")
    exc = InvalidInput("whatever the API says", field="description", reason=Reason.TOO_LONG,
                       params={"n": 4001, "max": 4000})
    assert localise(exc) == "Terlalu panjang: 4001 karakter, paling banyak 4000."
    set_language("en")
    assert localise(exc) == "Too long: 4001 characters, at most 4000."


def test_a_real_check_is_shown_beside_its_field_in_indonesian() -> None:
    """A validator's error lands on its field with the catalogue's sentence."""
    set_language("id")
    errors = FormErrors()
    try:
        require_text("applicant.name", "", max_length=120)
    except InvalidInput as exc:
        errors.add(exc)
    assert errors == {"applicant.name": message_for(Reason.REQUIRED)}
    assert errors["applicant.name"] != "applicant.name must not be empty"


def test_an_error_without_a_translation_keeps_its_own_message() -> None:
    """An unknown reason shows the error's own sentence rather than a generic "invalid"."""
    set_language("id")
    assert localise(Conflict("the task is already at unit 'x'")) == \
        "the task is already at unit 'x'"


def test_the_reason_is_not_part_of_the_api_body() -> None:
    """The JSON error body is exactly as before: code, message and details."""
    exc = InvalidInput("q is too long", field="q", reason=Reason.TOO_LONG, params={"n": 1})
    assert exc.to_dict() == {"error": {"code": "invalid", "message": "q is too long",
                                       "field": "q"}}
