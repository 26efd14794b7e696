"""Row-wise single-filing fast path (see engine.py)."""

__all__: list[str] = []
