"""SMS transport: an HTTP gateway (Zenziva and the like) shaped by a field template.

The template is written like a query string, ``userkey=abc&passkey=xyz&nohp={phone}&pesan={text}``;
values are percent-decoded, ``{phone}`` and ``{text}`` are filled in per message, and ``{ref}``,
where the gateway takes a client reference (an idempotency key, a ``messageId``), with the
notification's stable reference: the same on every attempt at the same message, so a gateway that
de-duplicates by it delivers a resend after a worker crash once. The method puts the fields in
the query string (GET), a form body (POST) or a JSON object (JSON).

Errors are ``DeliveryError`` (see ``workers.notify.email``): HTTP 5xx, 408, 429, timeouts and
refused connections are transient; other non-2xx answers and invalid phone numbers are permanent.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

import httpx

from hub.errors import ConfigError
from workers.notify.email import DeliveryError

__all__ = ["DeliveryError", "SmsGateway", "normalise_phone", "parse_sms_fields"]

METHODS = ("GET", "POST", "JSON")
REFERENCE_MAX_CHARS = 200
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_PHONE_SEPARATORS = re.compile(r"[\s\-.()/]")
# Indonesian mobile numbers have 10 to 13 digits written nationally: 08 and 8 to 11 more.
_INDONESIAN_MOBILE = re.compile(r"^628\d{8,11}\Z")
_TRANSIENT_STATUS = frozenset({408, 429})


def parse_sms_fields(template: str) -> list[tuple[str, str]]:
    """Split a field template into ordered (name, value) pairs.

    Raises:
        ConfigError: a pair has no ``=``, a name repeats, a placeholder is unknown, or
            ``{phone}``/``{text}`` is missing.
    """
    pairs: list[tuple[str, str]] = []
    for chunk in template.split("&"):
        name, eq, value = chunk.partition("=")
        if not (eq and name.strip()):
            raise ConfigError(f"PTSA_SMS_FIELDS must be name=value pairs joined by &; "
                              f"got {chunk!r} in {template!r}")
        name = unquote_plus(name.strip())
        if any(name == seen for seen, _ in pairs):
            raise ConfigError(f"PTSA_SMS_FIELDS names {name!r} twice in {template!r}")
        pairs.append((name, unquote_plus(value)))
    used = {match for _, value in pairs for match in _PLACEHOLDER.findall(value)}
    unknown = used - {"phone", "text", "ref"}
    if unknown:
        raise ConfigError(f"PTSA_SMS_FIELDS knows only {{phone}}, {{text}} and {{ref}}; "
                          f"got {', '.join('{' + n + '}' for n in sorted(unknown))}")
    missing = {"phone", "text"} - used
    if missing:
        raise ConfigError(f"PTSA_SMS_FIELDS must contain {{phone}} and {{text}}; "
                          f"{' and '.join('{' + n + '}' for n in sorted(missing))} missing "
                          f"in {template!r}")
    return pairs


def normalise_phone(phone: str) -> str:
    """Turn ``0812-3456-7890``, ``+62 812 3456 7890`` or ``812…`` into ``6281234567890``.

    Raises:
        DeliveryError: (permanent) the number is not an Indonesian mobile number.
    """
    digits = _PHONE_SEPARATORS.sub("", phone).removeprefix("+")
    if digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = "62" + digits[1:]
    elif digits.startswith("8"):
        digits = "62" + digits
    if not (digits.isascii() and _INDONESIAN_MOBILE.match(digits)):
        raise DeliveryError(f"expected an Indonesian mobile number such as 0812-3456-7890; "
                            f"got {phone!r}", permanent=True)
    return digits


class SmsGateway:
    """Send SMS through an HTTP gateway; one short-lived client per message.

    Raises:
        ConfigError: (on construction) the URL, method or field template is unusable.
    """

    def __init__(self, url: str, method: str = "POST",
                 fields: str = "number={phone}&message={text}", *, timeout: float = 10.0) -> None:
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            parsed = httpx.URL()
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigError(f"PTSA_SMS_URL must be an http:// or https:// URL; got {url!r}")
        if method.upper() not in METHODS:
            raise ConfigError(f"PTSA_SMS_METHOD must be GET, POST or JSON; got {method!r}")
        self.url = parsed
        self.method = method.upper()
        self.fields = parse_sms_fields(fields)
        self.timeout = timeout

    def __repr__(self) -> str:
        # The query string and fields may hold the gateway's userkey/passkey.
        port = f":{self.url.port}" if self.url.port else ""
        return f"SmsGateway({self.method} {self.url.scheme}://{self.url.host}{port}{self.url.path})"

    async def send(self, phone: str, text: str, ref: str = "") -> str:
        """Send ``text`` whole (the gateway concatenates) and return the gateway's reply body;
        ``ref`` fills ``{ref}`` (the message's stable reference).

        Raises:
            DeliveryError: the number is invalid or the gateway did not accept the message.
        """
        number = normalise_phone(phone)
        # Names are unique (parse_sms_fields), so a dict keeps every field in template order.
        values = {name: value.replace("{phone}", number).replace("{ref}", ref)
                  .replace("{text}", text) for name, value in self.fields}
        where = f"{self.url.host}{self.url.path}"
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                if self.method == "GET":
                    # Merge, not replace: the configured URL may carry its own query.
                    response = await client.get(self.url.copy_merge_params(values))
                elif self.method == "POST":
                    response = await client.post(self.url, data=values)
                else:
                    response = await client.post(self.url, json=values)
        except httpx.TimeoutException:
            raise DeliveryError(f"SMS gateway {where} timed out after {self.timeout:g} s",
                                permanent=False) from None
        except httpx.TransportError as exc:
            raise DeliveryError(f"could not reach SMS gateway {where}: "
                                f"{type(exc).__name__}: {exc}", permanent=False) from exc
        body = response.text.strip()[:REFERENCE_MAX_CHARS]
        if response.is_success:
            return body
        status = response.status_code
        transient = status >= 500 or status in _TRANSIENT_STATUS
        raise DeliveryError(f"SMS gateway {where} answered HTTP {status}: {body or '(no body)'}",
                            permanent=not transient, http_status=status)
