"""The WSGI entry point: ``gunicorn django_store.wsgi`` with ``examples/`` on the path."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_store.settings")
application = get_wsgi_application()
