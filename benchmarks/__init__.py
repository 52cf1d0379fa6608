"""Benchmarks: each ``bench_*.py`` module has a ``main()`` that prints figures.

They measure and report; they never fail on time. Run them all with ``make bench``.
"""
