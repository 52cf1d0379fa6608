"""The runtime: the runner, scenarios, the clock and the command line."""
