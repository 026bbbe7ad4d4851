"""``python -m transferkit ...``: the same as the ``transferkit`` command."""

import sys

from transferkit.cli import main

if __name__ == "__main__":
    sys.exit(main())
