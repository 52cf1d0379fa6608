"""A FastAPI app that receives provider webhooks for recoverykit.

``app.py`` holds the whole example; ``README.md`` beside it says how to run it.
"""
