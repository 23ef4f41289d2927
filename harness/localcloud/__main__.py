"""``python -m harness.localcloud``: see ``cli.py``."""

import sys

from harness.localcloud.cli import main

sys.exit(main())
