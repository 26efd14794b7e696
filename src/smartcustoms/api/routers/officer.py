"""Officers: work queues by office and lane, consignment detail, inspection results and
re-routing with a mandatory justification."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter(tags=["officers"])
