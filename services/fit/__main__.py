import sys

from services.fit.main import main

sys.exit(main())
