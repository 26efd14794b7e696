"""When consignments arrive: an intraday and weekly profile, and flights that carry them.

Consignment ``i`` of ``N`` arrives at ``F⁻¹((i + u) / N)``, where ``F`` is the cumulative
arrival intensity over the period: arrivals therefore follow the run order (a chunk is a
window of time, and the filings file reads in roughly chronological order) while the hourly
profile - night-heavy, as express hubs are - and quieter weekends shape the density.
Consignments are then put on flights: those of one origin and carrier in the same half-hour
slot share a landing time and a master air waybill or a postal despatch.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

__all__ = [
    "HOURLY_PROFILE",
    "SLOT_SECONDS",
    "WEEKDAY_PROFILE",
    "ArrivalCurve",
]

HOURLY_PROFILE: Final = (
    6.0, 7.0, 8.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.5, 3.0, 3.0, 3.0,
    3.0, 3.0, 3.0, 3.0, 3.5, 4.0, 4.0, 4.5, 5.0, 5.0, 5.5, 6.0,
)  # fmt: skip
"""Relative arrival intensity per local hour (0-23): flights land mostly at night."""

WEEKDAY_PROFILE: Final = (1.1, 1.1, 1.05, 1.05, 1.0, 0.8, 0.6)
"""Relative arrival intensity per local weekday (Monday first)."""

SLOT_SECONDS: Final = 1800
"""Length of a flight slot: consignments of one origin and carrier in a slot fly together."""

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


class ArrivalCurve:
    """The arrival-time distribution of a run.

    Args:
        start: Start of the period (timezone-aware).
        days: Length of the period in days.
        timezone: IANA time zone whose local hours shape the profile.
        total: Number of consignments in the run.
    """

    def __init__(self, start: datetime, days: float, timezone: str, total: int) -> None:
        self.start_s = int(start.timestamp())
        self.end_s = self.start_s + round(days * 86_400)
        self.total = max(total, 1)
        n_bins = max(1, math.ceil((self.end_s - self.start_s) / 3600))
        tz = ZoneInfo(timezone)
        lengths = np.full(n_bins, 3600.0)
        lengths[-1] = (self.end_s - self.start_s) - 3600.0 * (n_bins - 1)
        weights = np.empty(n_bins)
        for b in range(n_bins):
            local = (start + timedelta(hours=b)).astimezone(tz)
            weights[b] = HOURLY_PROFILE[local.hour] * WEEKDAY_PROFILE[local.weekday()]
        weights *= lengths / 3600.0
        self._lengths = lengths
        self._weights = weights / weights.sum()
        self._cdf = np.concatenate([[0.0], np.cumsum(self._weights)])

    def times(self, idx: I64, u: F64) -> I64:
        """Arrival times (epoch seconds) of consignments ``idx`` with jitter ``u`` in [0, 1)."""
        position = np.clip((idx + u) / self.total, 0.0, 1.0 - 1e-12)
        b = np.clip(
            np.searchsorted(self._cdf, position, side="right") - 1, 0, len(self._weights) - 1
        )
        within = (position - self._cdf[b]) / self._weights[b]
        offset = b * 3600.0 + np.clip(within, 0.0, 1.0) * self._lengths[b]
        times: I64 = self.start_s + np.floor(offset).astype(np.int64)
        return times

    def slot(self, seconds: I64) -> I64:
        """Flight slot of each time."""
        return (seconds - self.start_s) // SLOT_SECONDS

    def slot_start(self, slot: I64) -> I64:
        """Start (epoch seconds) of each slot."""
        return self.start_s + slot * SLOT_SECONDS
