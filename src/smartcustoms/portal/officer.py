"""Officer pages: work queue, consignment, inspection, re-routing, quarantine."""

from __future__ import annotations

from fastapi import APIRouter

from smartcustoms.portal.pages import PORTAL_PREFIX

__all__ = ["router"]

router = APIRouter(prefix=PORTAL_PREFIX, include_in_schema=False)
