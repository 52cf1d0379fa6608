"""A minimal Django project that runs recoverykit: webhook views, a tick command, settings.

Copy the ``recovery`` app into your own project and merge ``settings.py``'s
``RECOVERYKIT`` block into yours; ``README.md`` beside this file walks through it.
"""
