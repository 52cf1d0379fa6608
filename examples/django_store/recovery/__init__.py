"""The recovery app: webhook views, a per-process runner and the ``recoverykit_tick`` command."""
