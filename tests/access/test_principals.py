"""What a principal may see."""

from __future__ import annotations

import pytest

from smartcustoms.access import Principal, Role


def test_filers_see_only_their_own_filings() -> None:
    filer = Principal("shop", Role.FILER, filer_id="F1")
    assert filer.can_see_filer("F1")
    assert not filer.can_see_filer("F2")
    assert not filer.can_see_filer(None)
    assert not filer.can_see_office("FR000730")


def test_officers_see_only_their_offices() -> None:
    officer = Principal("ana", Role.OFFICER, offices=frozenset({"FR000730"}))
    assert officer.can_see_office("FR000730")
    assert not officer.can_see_office("BE000100")
    assert officer.can_see_filer("F1")


@pytest.mark.parametrize("role", [Role.ANALYST, Role.ADMIN])
def test_analysts_and_admins_see_everything(role: Role) -> None:
    p = Principal("x", role)
    assert p.can_see_office("ANY") and p.can_see_filer("F1")


def test_partners_see_no_filing_and_no_office() -> None:
    p = Principal("x", Role.PARTNER)
    assert not p.can_see_office("FR000730") and not p.can_see_filer("F1")
