"""Files on disk, whoever writes them: atomic writes (atomic.py)."""
