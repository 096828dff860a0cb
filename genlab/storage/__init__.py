"""Files on disk, whoever writes them: atomic writes (atomic.py), locks with a named owner
(lock.py), and reading records back in one line when they are broken (read.py)."""
