"""`python -m api` runs the aigc-prov command line."""

import sys

from api.cli import main

sys.exit(main())
