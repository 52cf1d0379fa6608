"""Registered under Hypothesis' entry point; cheap for everyone who does not use recoverykit.

Hypothesis calls the hook while it is being imported, in every project that has
recoverykit installed. Importing the strategies there would cost every such test
run the import of recoverykit, phonenumbers, babel and holidays, so the hook only
registers them when recoverykit is already in use (this module sits outside
``recoverykit.testing`` so that loading it loads nothing else); otherwise importing
``recoverykit.testing`` (or ``recoverykit.testing.strategies``) later does it.
"""

from __future__ import annotations

import sys


def _hypothesis_setup_hook() -> None:
    if "recoverykit.testing" in sys.modules or "recoverykit.values.model" in sys.modules:
        from .testing import strategies  # noqa: F401, PLC0415 - registers on import
