"""`python -m harness.cli`, as `python -m harness` and the `shopper` script."""

import sys

from harness.cli import main

sys.exit(main())
