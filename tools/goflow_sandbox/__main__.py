"""``python -m tools.goflow_sandbox``: serve a Goflow look-alike on loopback."""

import sys

from tools.goflow_sandbox.cli import main

sys.exit(main())
