"""``smartcustoms aeo``: grant, suspend and revoke AEO authorisations; list them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import click

from smartcustoms.aeo import CertificateType
from smartcustoms.aeo.history import AeoAct
from smartcustoms.cli._common import db_option, echo_json, json_option, make_platform
from smartcustoms.store.aeo import ActDetails, CertificateRecord

__all__ = ["aeo_group"]

_DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.group("aeo")
def aeo_group() -> None:
    """Authorised Economic Operators: acts on our authorisations, and the registry."""


def _day(value: datetime | None) -> date:
    return (value or datetime.now(UTC)).date()


def _show(record: CertificateRecord, as_json: bool) -> None:
    if as_json:
        echo_json(record.as_dict())
        return
    last = record.acts[-1]
    where = "" if last.log_index is None else f" (log entry {last.log_index})"
    click.echo(
        f"{record.certificate_id} {record.type.value} of {record.operator_id}: {record.status} "
        f"from {last.effective}{where}"
    )


@aeo_group.command("grant")
@click.argument("operator_id")
@click.option("--number", required=True, help="Authorisation number.")
@click.option(
    "--type", "kind", required=True, type=click.Choice([t.value for t in CertificateType])
)
@click.option("--name", default="", help="Operator's registered name (first grant).")
@click.option("--country", default=None, help="Operator's country (default: home country).")
@click.option("--valid-from", type=_DATE, help="First day of validity (default: --effective).")
@click.option("--valid-to", type=_DATE, help="Last day of validity (default: open-ended).")
@click.option("--effective", type=_DATE, help="First day the grant applies (default: today).")
@click.option("--reason", default="", help="Why (kept; published only as a commitment).")
@click.option("--actor", default="cli", show_default=True, help="Who records the act.")
@db_option
@json_option
def grant(
    operator_id: str,
    number: str,
    kind: str,
    name: str,
    country: str | None,
    valid_from: datetime | None,
    valid_to: datetime | None,
    effective: datetime | None,
    reason: str,
    actor: str,
    database_url: str | None,
    as_json: bool,
) -> None:
    """Grant an authorisation to OPERATOR_ID, or lift its suspension."""
    platform = make_platform(database_url)
    home = platform.settings.home_country
    day = _day(effective)
    details = ActDetails(
        operator_id=operator_id,
        operator_name=name or operator_id,
        operator_country=country or home,
        type=CertificateType(kind),
        authority=home,
        number=number,
        valid_from=valid_from.date() if valid_from else day,
        valid_to=valid_to.date() if valid_to else None,
        act=AeoAct.GRANT,
        effective=day,
        reason=reason,
    )
    _show(platform.record_aeo_act(details, actor=actor), as_json)


def _change(act: AeoAct) -> click.Command:
    @click.command(act.value)
    @click.argument("number")
    @click.option("--effective", type=_DATE, help="First day it applies (default: today).")
    @click.option("--reason", required=True, help="Why (kept; published only as a commitment).")
    @click.option("--actor", default="cli", show_default=True, help="Who records the act.")
    @db_option
    @json_option
    def command(
        number: str,
        effective: datetime | None,
        reason: str,
        actor: str,
        database_url: str | None,
        as_json: bool,
    ) -> None:
        platform = make_platform(database_url)
        home = platform.settings.home_country
        current = platform.aeo.certificate(home, number)
        details = current.act_details(act, _day(effective), reason)
        _show(platform.record_aeo_act(details, actor=actor), as_json)

    command.help = {
        AeoAct.SUSPEND: "Suspend our authorisation NUMBER (lift it with `aeo grant`).",
        AeoAct.REVOKE: "Revoke our authorisation NUMBER for good.",
    }[act]
    return command


aeo_group.add_command(_change(AeoAct.SUSPEND))
aeo_group.add_command(_change(AeoAct.REVOKE))


@aeo_group.command("list")
@click.option("--operator", "operator_id", help="Only this operator's authorisations.")
@click.option("--source", help="Only those from this log origin (ours or a partner's).")
@click.option("--history", is_flag=True, help="Print every act under each authorisation.")
@db_option
@json_option
def list_certificates(
    operator_id: str | None,
    source: str | None,
    history: bool,
    database_url: str | None,
    as_json: bool,
) -> None:
    """Authorisations in the registry: ours and those partners' logs reported."""
    records = make_platform(database_url).aeo.certificates(operator_id=operator_id, source=source)
    if as_json:
        echo_json([r.as_dict() for r in records])
        return
    if not records:
        click.echo("no AEO authorisation recorded")
    for r in records:
        until = r.valid_to.isoformat() if r.valid_to else "open-ended"
        click.echo(
            f"{r.certificate_id:28} {r.type.value:5} {r.operator_id:20} {r.status:10} "
            f"{r.valid_from} to {until}  [{r.source}]"
        )
        if history:
            for a in r.acts:
                where = "" if a.log_index is None else f" log #{a.log_index}"
                click.echo(f"    {a.effective} {a.act.value:8} by {a.actor}{where} {a.reason}")
