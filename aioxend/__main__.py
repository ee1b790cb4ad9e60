"""``python -m aioxend``: the command line (see ``aioxend.cli``)."""

from aioxend.cli import main

raise SystemExit(main())
