"""The command line: exit statuses and signals (main.py), errors in one line (one_line.py), the
checks made before Hydra composes (overrides.py), and the small commands' `key=value` arguments
(arguments.py). Below the commands only the Python API shares these, for its one-line errors."""
