"""Benchmarks: each ``bench_*.py`` module has a ``main()`` that prints figures.

Every figure is CPU time (``time.process_time``) printed beside a floor measured in the
same run, the least work the same job cannot avoid, so the ratio means something on a
busy machine (``_timing``). They measure and report; they never fail on time. Run them
all with ``make bench``, or some: ``python -m benchmarks engine messages``.
"""
