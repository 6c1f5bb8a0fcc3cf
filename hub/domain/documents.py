"""A service's document checklist: what an applicant brings, set by an admin as one document a
line, ticked at intake (what was received) and printed on the receipt."""

from __future__ import annotations

from collections.abc import Iterable

from hub.errors import InvalidInput, Reason

MAX_DOCUMENTS = 20
MAX_NAME = 150


def checklist(text: str) -> list[str]:
    """The documents of a stored checklist, in order."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def parse_checklist(text: str) -> str:
    """An admin's checklist as stored: trimmed lines, no blanks or repeats; InvalidInput when
    there are too many or one is too long."""
    items = list(dict.fromkeys(checklist(text)))
    if len(items) > MAX_DOCUMENTS:
        raise InvalidInput(f"documents: at most {MAX_DOCUMENTS} lines; got {len(items)}",
                           field="documents")
    for item in items:
        if len(item) > MAX_NAME:
            raise InvalidInput(f"documents: a line is too long: {len(item)} characters, at most "
                               f"{MAX_NAME}", field="documents", reason=Reason.TOO_LONG,
                               params={"n": len(item), "max": MAX_NAME})
    return "\n".join(items)


def received(ticked: Iterable[object], stored: str) -> list[str]:
    """The ticked documents, in the checklist's order; InvalidInput for one not on it."""
    allowed = checklist(stored)
    given = list(ticked)
    unknown = [d for d in given if d not in allowed]
    if unknown:
        raise InvalidInput(f"documents: {unknown[0]!r} is not on this service's checklist",
                           field="documents")
    return [d for d in allowed if d in given]
