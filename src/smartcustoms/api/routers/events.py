"""Lifecycle events (arrival, release, exit...), singly or in bulk."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter(tags=["events"])
