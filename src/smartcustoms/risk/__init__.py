"""Risk management: targeting rules and watch lists as data, learned value controls, an ML
risk model, lane selection under inspection capacity, explanations, feedback and evaluation.
"""

from __future__ import annotations

__all__: list[str] = []
