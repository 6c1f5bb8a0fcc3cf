"""``python -m hub.cli``: the same as the ``ptsa`` command."""

import sys

from hub.cli.main import main

sys.exit(main())
