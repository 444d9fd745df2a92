import sys

from matchodds.cli import main

sys.exit(main())
