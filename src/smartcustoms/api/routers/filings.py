"""Filers: submit filings (one, synchronously, or a bulk file as a job), read responses,
correct and resubmit quarantined filings."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter(tags=["filers"])
