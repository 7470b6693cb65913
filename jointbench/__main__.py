"""``python -m jointbench``."""

import sys

from jointbench.cli import main

sys.exit(main())
