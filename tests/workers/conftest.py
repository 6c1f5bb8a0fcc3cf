"""Fixtures of the SLA and notification tests: a recording SMTP server (``mailbox``), an SMS
gateway (``gateway``), and settings with seconds-long SLAs pointing at both (``env``,
``settings``); see tests/support/sla.py. The transport tests in this directory define their own."""

from tests.support.sla import api, env, gateway, mailbox, settings  # noqa: F401
