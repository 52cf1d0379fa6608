"""``python -m recoverykit``: the same command line as the ``recoverykit`` script."""

from __future__ import annotations

import sys

from .runtime.cli import main

if __name__ == "__main__":
    sys.exit(main())
