"""AEO act history: which acts may follow which, and the periods they leave active."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from smartcustoms.aeo import AeoCertificate, CertificateType
from smartcustoms.aeo.history import (
    CODE_ACT_ORDER,
    CODE_ACT_STATE,
    CODE_ACT_VALIDITY,
    AeoAct,
    StatusAct,
    active_periods,
    certificate_rows,
    check_act,
    status_on,
)

FROM, TO = date(2020, 1, 1), date(2029, 12, 31)
G, S, R = AeoAct.GRANT, AeoAct.SUSPEND, AeoAct.REVOKE


def codes(history: list[StatusAct], new: StatusAct, valid_to: date | None = TO) -> list[str]:
    return [p.code for p in check_act(history, new, valid_from=FROM, valid_to=valid_to)]


def test_first_act_must_be_a_grant() -> None:
    assert codes([], StatusAct(G, FROM)) == []
    assert codes([], StatusAct(S, FROM)) == [CODE_ACT_STATE]
    assert codes([], StatusAct(R, FROM)) == [CODE_ACT_STATE]


def test_state_transitions() -> None:
    granted = [StatusAct(G, FROM)]
    assert codes(granted, StatusAct(G, date(2021, 1, 1))) == [CODE_ACT_STATE]
    assert codes(granted, StatusAct(S, date(2021, 1, 1))) == []
    assert codes(granted, StatusAct(R, date(2021, 1, 1))) == []
    suspended = [*granted, StatusAct(S, date(2021, 1, 1))]
    assert codes(suspended, StatusAct(S, date(2021, 2, 1))) == [CODE_ACT_STATE]
    assert codes(suspended, StatusAct(G, date(2021, 2, 1))) == []
    revoked = [*granted, StatusAct(R, date(2021, 1, 1))]
    for act in AeoAct:
        assert codes(revoked, StatusAct(act, date(2022, 1, 1))) == [CODE_ACT_STATE]


def test_every_problem_at_once() -> None:
    """A second grant, dated before the last act and after the validity: three problems."""
    history = [StatusAct(G, date(2025, 1, 1))]
    found = codes(history, StatusAct(G, date(2019, 1, 1)))
    assert found == [CODE_ACT_STATE, CODE_ACT_ORDER, CODE_ACT_VALIDITY]
    assert codes([], StatusAct(G, date(2030, 1, 1))) == [CODE_ACT_VALIDITY]
    assert codes([], StatusAct(G, date(2040, 1, 1)), valid_to=None) == []


def test_periods_of_a_suspension_lifted_then_a_revocation() -> None:
    history = [
        StatusAct(G, FROM),
        StatusAct(S, date(2024, 1, 1)),
        StatusAct(G, date(2024, 3, 1)),
        StatusAct(R, date(2025, 1, 1)),
    ]
    assert active_periods(history, valid_from=FROM, valid_to=TO) == [
        (FROM, date(2023, 12, 31)),
        (date(2024, 3, 1), date(2024, 12, 31)),
    ]
    assert status_on(history, date(2023, 12, 31), valid_from=FROM, valid_to=TO)
    assert not status_on(history, date(2024, 1, 1), valid_from=FROM, valid_to=TO)
    assert not status_on(history, date(2024, 2, 29), valid_from=FROM, valid_to=TO)
    assert status_on(history, date(2024, 3, 1), valid_from=FROM, valid_to=TO)
    assert not status_on(history, date(2025, 1, 1), valid_from=FROM, valid_to=TO)


def test_open_ended_and_same_day_suspension() -> None:
    assert active_periods([StatusAct(G, FROM)], valid_from=FROM, valid_to=None) == [(FROM, None)]
    undone = [StatusAct(G, FROM), StatusAct(S, FROM)]
    assert active_periods(undone, valid_from=FROM, valid_to=None) == []


def test_rows_agree_with_the_registry_rule() -> None:
    history = [StatusAct(G, FROM), StatusAct(S, date(2022, 6, 1)), StatusAct(G, date(2022, 7, 1))]
    rows = certificate_rows(
        history,
        type=CertificateType.AEOF,
        authority="XA",
        number="N1",
        valid_from=FROM,
        valid_to=TO,
    )
    assert len(rows) == 2
    assert all(isinstance(r, AeoCertificate) for r in rows)
    assert rows[0].is_active_on(date(2022, 5, 31)) and not rows[0].is_active_on(date(2022, 6, 1))


@st.composite
def histories(draw: st.DrawFn) -> list[StatusAct]:
    """Valid histories: each act allowed after the previous one, dates not decreasing."""
    day = FROM + timedelta(days=draw(st.integers(0, 30)))
    history = [StatusAct(G, day)]
    for _ in range(draw(st.integers(0, 8))):
        day += timedelta(days=draw(st.integers(0, 200)))
        options = [a for a in AeoAct if not codes(history, StatusAct(a, day), valid_to=None)]
        if not options:
            break
        history.append(StatusAct(draw(st.sampled_from(options)), day))
    return history


@given(histories(), st.integers(0, 3000))
def test_status_on_a_day_follows_the_last_act_in_force(
    history: list[StatusAct], offset: int
) -> None:
    """The periods say a day counts exactly when the last act in force on it is a grant."""
    day = FROM + timedelta(days=offset)
    in_force = [a for a in history if a.effective <= day]
    expected = bool(in_force) and in_force[-1].act is G
    assert status_on(history, day, valid_from=FROM, valid_to=None) is expected
