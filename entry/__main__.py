"""`python -m entry`: the `matchodds` command, for a tree with no console script installed."""

import sys

from entry.cli import main

sys.exit(main())
