"""Celery wiring for recoverykit: the tick on a beat schedule, one task per webhook kind.

``tasks.py`` holds the whole example; ``README.md`` beside it says how to run it.
"""
