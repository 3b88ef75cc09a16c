"""``python -m tools.marketplace_sandbox``: serve Amazon and Walmart look-alikes
on loopback."""

import sys

from tools.marketplace_sandbox.cli import main

sys.exit(main())
