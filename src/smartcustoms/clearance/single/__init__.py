"""Row-wise single-filing fast path (see engine.py)."""
