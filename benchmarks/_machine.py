"""How fast this machine runs plain Python right now, for reading figures across sessions.

The benchmark machine is shared: the same code has run 3x slower on one day than on
another. Each single-filing benchmark records :func:`python_speed` beside its figures, so a
figure can be compared with one from another day in proportion to the machine's speed.
"""

from __future__ import annotations

import os
import platform
import statistics
import time


def python_speed(runs: int = 3) -> float:
    """Median seconds of a fixed pure-Python loop (sum of 10**7 squares; ~0.5 s is fast)."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        sum(i * i for i in range(10**7))
        times.append(time.perf_counter() - began)
    return round(statistics.median(times), 3)


def describe() -> str:
    """Architecture, core count and Python version."""
    return f"{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}"
