"""What `genlab report` makes of a sweep: its jobs read back (jobs.py), grouped over seeds with
intervals and tests (stats.py), as tables and CSV (tables.py), plots (figures.py) and one
self-contained page (page.py)."""
