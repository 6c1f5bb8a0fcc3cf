"""The one shape of a code people type and URLs carry: unit and service codes, counter and
group codes, device names. Lower-case letters and digits in words joined by single hyphens
(``kiosk-lobi-1``); ``\\Z``, not ``$``, so a trailing newline is no part of a valid code."""

from __future__ import annotations

import re

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")
