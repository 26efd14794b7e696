"""Analysts: rules and watch lists, model training and evaluation, drift."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter(tags=["analysts"])
