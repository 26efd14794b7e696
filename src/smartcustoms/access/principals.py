"""Roles and the authenticated principal of a request."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

__all__ = ["ROLES", "Principal", "Role"]


class Role(StrEnum):
    """What a user is for; one role per user.

    ``filer`` submits filings and sees only its own (its ``filer_id``); ``officer`` works
    the queues of its offices; ``analyst`` manages rules and models; ``admin`` manages users
    and sees everything; ``partner`` is another administration reading the ledger.
    """

    FILER = "filer"
    OFFICER = "officer"
    ANALYST = "analyst"
    ADMIN = "admin"
    PARTNER = "partner"


ROLES: Final = tuple(Role)
"""Every role, in a stable order."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The user behind a request, with what scopes its reads.

    Attributes:
        user_id: The user's id (the actor in the audit log).
        role: Its role.
        filer_id: For filers, the filer id its filings must carry (the tenant).
        offices: For officers, the customs offices it works; empty means none.
        language: Preferred portal language (``en``, ``fr``, ``es``).
        display_name: Name shown in the portal.
    """

    user_id: str
    role: Role
    filer_id: str | None = None
    offices: frozenset[str] = field(default_factory=frozenset)
    language: str = "en"
    display_name: str = ""

    def can_see_filer(self, filer_id: str | None) -> bool:
        """Whether this principal may see a filing of ``filer_id``.

        Officers, analysts and admins see every filer; a filer sees only its own.
        Partners see no filing.
        """
        if self.role is Role.FILER:
            return filer_id is not None and filer_id == self.filer_id
        return self.role in (Role.OFFICER, Role.ANALYST, Role.ADMIN)

    def can_see_office(self, office: str | None) -> bool:
        """Whether this principal may work consignments of ``office``.

        Officers only their offices; analysts and admins every office; others none.
        """
        if self.role is Role.OFFICER:
            return office is not None and office in self.offices
        return self.role in (Role.ANALYST, Role.ADMIN)
