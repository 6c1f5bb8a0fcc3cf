"""E-mail transport settings and outcomes: the SMTP URL, and failures sorted into retry or give up.

The message itself is composed by ``workers/notify/transports.py`` and sent over the SMTP session
pool (``workers/notify/smtp_pool.py``); both sort a failure with ``_classify`` here.

    PtsaError
    └── DeliveryError     a message was not handed over; ``permanent`` says whether a retry can help

Permanent: an SMTP 5xx reply (unknown recipient, refused sender, failed login, rejected data),
a server that lacks STARTTLS/AUTH, an unusable address. Transient: 4xx replies, refused
connections, timeouts, disconnects, TLS handshake failures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import aiosmtplib

from hub.errors import ConfigError, PtsaError

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


class DeliveryError(PtsaError):
    """A notification could not be delivered; retry only when ``permanent`` is False."""

    code = "delivery_failed"
    status = 502

    def __init__(self, message: str, *, permanent: bool, **details: Any) -> None:
        super().__init__(message, **details)
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    use_tls: bool = False
    timeout: float = 10.0


def parse_smtp_url(url: str) -> SmtpConfig:
    """Read ``smtp://user:pass@host:587?starttls=1&timeout=10`` or ``smtps://host``.

    Without a port: 465 for smtps, 587 with STARTTLS, else 25. Without ``starttls``, STARTTLS
    is used on port 587 only. User name and password are percent-decoded.

    Raises:
        ConfigError: the scheme, host, port, query or credentials are malformed.
    """
    try:
        parts = urlsplit(url.strip())
        explicit_port = parts.port
    except ValueError as exc:
        raise ConfigError(f"PTSA_SMTP_URL is malformed ({exc}); expected "
                          "smtp://user:pass@host:587?starttls=1") from None
    if parts.scheme not in ("smtp", "smtps"):
        raise ConfigError(f"PTSA_SMTP_URL must start with smtp:// or smtps://; got {url[:12]!r}")
    if not parts.hostname:
        raise ConfigError("PTSA_SMTP_URL has no host; expected smtp://user:pass@host:587")
    if parts.path not in ("", "/"):
        raise ConfigError(f"PTSA_SMTP_URL must not have a path; got {parts.path!r}")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = set(query) - {"starttls", "timeout"}
    if unknown:
        raise ConfigError(f"PTSA_SMTP_URL accepts only ?starttls= and ?timeout=; "
                          f"got {', '.join(sorted(unknown))}")
    use_tls = parts.scheme == "smtps"
    starttls = _flag(query["starttls"]) if "starttls" in query else explicit_port == 587
    if use_tls and starttls:
        raise ConfigError("PTSA_SMTP_URL: smtps:// is already TLS; drop ?starttls=1 or use smtp://")
    port = explicit_port or (465 if use_tls else 587 if starttls else 25)
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if username and password is None:
        raise ConfigError("PTSA_SMTP_URL names a user but no password; write smtp://user:pass@host")
    return SmtpConfig(host=parts.hostname, port=port, username=username, password=password,
                      starttls=starttls, use_tls=use_tls, timeout=_timeout(query))


def _flag(text: str) -> bool:
    if text.lower() in _TRUE | _FALSE:
        return text.lower() in _TRUE
    raise ConfigError(f"PTSA_SMTP_URL ?starttls= must be 1 or 0; got {text!r}")


def _timeout(query: dict[str, str]) -> float:
    text = query.get("timeout", "10")
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 600:
        raise ConfigError(f"PTSA_SMTP_URL ?timeout= must be seconds in (0, 600]; got {text!r}")
    return value


def _classify(exc: BaseException, config: SmtpConfig, to: str) -> DeliveryError:
    where = f"{config.host}:{config.port}"
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in exc.recipients]
        replies = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        return DeliveryError(f"SMTP server {where} refused recipient {to}: {replies}",
                             permanent=all(500 <= code < 600 for code in codes),
                             smtp_code=codes[0] if codes else None)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return DeliveryError(f"SMTP server {where} replied {exc.code} {exc.message}",
                             permanent=500 <= exc.code < 600, smtp_code=exc.code)
    # aiosmtplib raises the bare base class when the server lacks STARTTLS or AUTH.
    if isinstance(exc, aiosmtplib.SMTPNotSupported) or type(exc) is aiosmtplib.SMTPException:
        return DeliveryError(f"SMTP server {where} does not support what PTSA_SMTP_URL asks for: "
                             f"{exc}", permanent=True)
    if isinstance(exc, TimeoutError):
        return DeliveryError(f"SMTP server {where} timed out after {config.timeout:g} s",
                             permanent=False)
    return DeliveryError(f"could not talk to SMTP server {where}: {exc}", permanent=False)
