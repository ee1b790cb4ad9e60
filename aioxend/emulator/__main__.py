"""``python -m aioxend.emulator``."""

import sys

from aioxend.emulator._cli import main

sys.exit(main())
