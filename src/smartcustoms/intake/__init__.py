"""Intake: read filings in any supported format, validate them, score their data quality.

Adapters turn JSON / JSON Lines filings on WCO Data Model terms, flat CSV through a column map
and postal item data into the canonical frames of :mod:`smartcustoms.model`. Validation is
vectorised and reports every problem with a stable code; nothing is dropped.
"""

from __future__ import annotations

from smartcustoms.intake.batch import FieldLabel, ParsedBatch
from smartcustoms.intake.formats import InputFormat, detect_format, read_batches
from smartcustoms.intake.problems import PROBLEM_CODES, PROBLEM_SCHEMA, to_problems
from smartcustoms.intake.quality import QUALITY_REASONS, explain_reasons, score_quality
from smartcustoms.intake.validate import (
    ValidationContext,
    normalise_codes,
    s10_check_digit,
    validate_batch,
)

__all__ = [
    "PROBLEM_CODES",
    "PROBLEM_SCHEMA",
    "QUALITY_REASONS",
    "FieldLabel",
    "InputFormat",
    "ParsedBatch",
    "ValidationContext",
    "detect_format",
    "explain_reasons",
    "normalise_codes",
    "read_batches",
    "s10_check_digit",
    "score_quality",
    "to_problems",
    "validate_batch",
]
