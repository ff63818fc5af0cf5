"""Start-up: the runtime, the command line and the worker tasks, on top of every floor."""
