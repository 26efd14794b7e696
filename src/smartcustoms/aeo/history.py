"""AEO status history: grants, suspensions and revocations, and the periods they leave active.

An administration's registry changes by **acts**: it grants an authorisation, may suspend it
(for instance while a non-compliance is investigated), may lift the suspension (a new
``grant`` act on the same certificate) and may revoke it for good. Each act takes effect on a
day. The history of acts is kept whole, so the status of any past day can be recomputed and
every act can be published as a ledger statement.

:func:`check_act` says whether an act may follow a history (every problem at once);
:func:`active_periods` turns a history into the days the certificate counted; and
:func:`certificate_rows` gives the :class:`~smartcustoms.aeo.registry.AeoCertificate` rows
:func:`~smartcustoms.aeo.registry.with_aeo_status` reads (one active row per period).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from smartcustoms.aeo.registry import AeoCertificate, CertificateStatus, CertificateType
from smartcustoms.errors import Problem

__all__ = [
    "CODE_ACT_ORDER",
    "CODE_ACT_STATE",
    "CODE_ACT_VALIDITY",
    "AeoAct",
    "StatusAct",
    "active_periods",
    "certificate_rows",
    "check_act",
    "status_after",
    "status_on",
]

CODE_ACT_STATE: Final = "aeo.act_state"
"""The act does not fit the certificate's state (suspending a suspended one, any act after a
revocation, a first act that is not a grant)."""
CODE_ACT_ORDER: Final = "aeo.act_order"
"""The act takes effect before the certificate's latest act."""
CODE_ACT_VALIDITY: Final = "aeo.act_validity"
"""The act takes effect outside the certificate's validity."""


class AeoAct(StrEnum):
    """What an administration does to an AEO authorisation."""

    GRANT = "grant"
    """Authorise (first act), or lift a suspension."""
    SUSPEND = "suspend"
    """Stop the benefits until further notice."""
    REVOKE = "revoke"
    """End the authorisation for good."""


@dataclass(frozen=True, slots=True)
class StatusAct:
    """One act on a certificate.

    Attributes:
        act: What was done.
        effective: First day the act applies.
        reason: Why (kept with the act; published only as a commitment).
    """

    act: AeoAct
    effective: date
    reason: str = ""


def status_after(history: Sequence[StatusAct]) -> CertificateStatus | None:
    """The certificate's status once every act of ``history`` applies (``None``: no act)."""
    if not history:
        return None
    return {
        AeoAct.GRANT: CertificateStatus.ACTIVE,
        AeoAct.SUSPEND: CertificateStatus.SUSPENDED,
        AeoAct.REVOKE: CertificateStatus.REVOKED,
    }[history[-1].act]


def check_act(
    history: Sequence[StatusAct],
    new: StatusAct,
    *,
    valid_from: date,
    valid_to: date | None,
    path: str = "act",
) -> list[Problem]:
    """Every reason ``new`` may not follow ``history`` (empty when it may).

    Args:
        history: The certificate's acts so far, in the order they were recorded.
        new: The act to add.
        valid_from: First day of the certificate's validity.
        valid_to: Last day (``None``: open-ended).
        path: Prefix of each problem's path.
    """
    problems: list[Problem] = []
    state = status_after(history)
    if state is None and new.act is not AeoAct.GRANT:
        problems.append(
            Problem(
                CODE_ACT_STATE, path, f"a certificate's first act must be a grant, not {new.act}"
            )
        )
    elif state is CertificateStatus.REVOKED:
        problems.append(
            Problem(CODE_ACT_STATE, path, "the certificate is revoked; no act may follow")
        )
    elif state is CertificateStatus.ACTIVE and new.act is AeoAct.GRANT:
        problems.append(Problem(CODE_ACT_STATE, path, "the certificate is already active"))
    elif state is CertificateStatus.SUSPENDED and new.act is AeoAct.SUSPEND:
        problems.append(Problem(CODE_ACT_STATE, path, "the certificate is already suspended"))
    if history and new.effective < history[-1].effective:
        problems.append(
            Problem(
                CODE_ACT_ORDER,
                f"{path}.effective",
                f"takes effect on {new.effective}, before the latest act "
                f"({history[-1].act} on {history[-1].effective})",
            )
        )
    if new.effective < valid_from or (valid_to is not None and new.effective > valid_to):
        until = "open-ended" if valid_to is None else str(valid_to)
        problems.append(
            Problem(
                CODE_ACT_VALIDITY,
                f"{path}.effective",
                f"{new.effective} is outside the certificate's validity ({valid_from} to {until})",
            )
        )
    return problems


def active_periods(
    history: Sequence[StatusAct], *, valid_from: date, valid_to: date | None
) -> list[tuple[date, date | None]]:
    """The periods (first day, last day or ``None``) in which the certificate counted.

    A grant opens a period (never before ``valid_from``); a suspension or revocation closes
    the open one on the day before it takes effect. Periods are clipped to the validity;
    empty ones (an act undone the day it took effect) are dropped.
    """
    periods: list[tuple[date, date | None]] = []
    start: date | None = None
    for act in history:
        if act.act is AeoAct.GRANT:
            if start is None:
                start = max(act.effective, valid_from)
        elif start is not None:
            end = act.effective - timedelta(days=1)
            if end >= start:
                periods.append((start, end))
            start = None
    if start is not None:
        periods.append((start, valid_to))
    if valid_to is not None:
        periods = [(a, b if b is None else min(b, valid_to)) for a, b in periods if a <= valid_to]
    return periods


def status_on(
    history: Sequence[StatusAct], day: date, *, valid_from: date, valid_to: date | None
) -> bool:
    """Whether the certificate counted on ``day``."""
    return any(
        a <= day and (b is None or day <= b)
        for a, b in active_periods(history, valid_from=valid_from, valid_to=valid_to)
    )


def certificate_rows(
    history: Sequence[StatusAct],
    *,
    type: CertificateType,
    authority: str,
    number: str,
    valid_from: date,
    valid_to: date | None,
) -> tuple[AeoCertificate, ...]:
    """One active :class:`AeoCertificate` per period the certificate counted."""
    return tuple(
        AeoCertificate(
            type=type,
            authority=authority,
            number=number,
            valid_from=start,
            valid_to=end,
            status=CertificateStatus.ACTIVE,
        )
        for start, end in active_periods(history, valid_from=valid_from, valid_to=valid_to)
    )
