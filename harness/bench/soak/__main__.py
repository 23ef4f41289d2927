import sys

from harness.bench.soak.run import main

sys.exit(main())
