"""`python -m harness.bench`: see harness.bench.run.main."""

import sys

from harness.bench.run import main

sys.exit(main())
