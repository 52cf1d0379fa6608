"""Django's command-line utility for the example: ``python examples/django_store/manage.py``."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:
    # The project package is this folder; its parent must be importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_store.settings")
    from django.core.management import execute_from_command_line  # noqa: PLC0415

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
