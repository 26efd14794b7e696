"""``smartcustoms users``: people and systems that use the service, and their API keys."""

from __future__ import annotations

import sys

import click

from smartcustoms.access import ROLES
from smartcustoms.cli._common import db_option, echo_json, json_option, make_platform
from smartcustoms.store.access import LANGUAGES

__all__ = ["users_group"]


@click.group("users")
def users_group() -> None:
    """Users, roles and API keys of the service."""


@users_group.command("add")
@click.argument("user_id")
@click.option("--role", required=True, type=click.Choice([r.value for r in ROLES]))
@click.option("--name", "display_name", help="Name shown in the portal (default: the id).")
@click.option("--filer-id", help="Filers: the filer id their filings carry (their tenant).")
@click.option(
    "--office", "offices", multiple=True, help="Officers: an office they work (repeatable)."
)
@click.option("--language", default="en", type=click.Choice(LANGUAGES), show_default=True)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read a portal password (at least 12 characters) from standard input.",
)
@click.option("--key/--no-key", default=True, show_default=True, help="Issue an API key.")
@db_option
@json_option
def add(
    user_id: str,
    role: str,
    display_name: str | None,
    filer_id: str | None,
    offices: tuple[str, ...],
    language: str,
    password_stdin: bool,
    key: bool,
    database_url: str | None,
    as_json: bool,
) -> None:
    """Add a user; its API key is printed once and never stored."""
    platform = make_platform(database_url)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    user = platform.access.add_user(
        user_id,
        role,
        display_name=display_name,
        filer_id=filer_id,
        offices=offices,
        language=language,
        password=password,
    )
    token = platform.access.issue_key(user_id, label="issued by users add").token if key else None
    if as_json:
        echo_json({"user": user.as_dict(), "api_key": token})
        return
    click.echo(f"added {user.user_id} ({user.role})")
    if token:
        click.echo(f"API key (shown once, store it now): {token}")


@users_group.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked users.")
@db_option
@json_option
def list_users(include_revoked: bool, database_url: str | None, as_json: bool) -> None:
    """Users and their roles and scopes."""
    users = make_platform(database_url).access.users(include_revoked=include_revoked)
    if as_json:
        echo_json([u.as_dict() for u in users])
        return
    for u in users:
        scope = u.filer_id or ",".join(u.offices) or "-"
        state = "revoked" if u.revoked_at else "active"
        click.echo(f"{u.user_id:24} {u.role.value:8} {scope:24} {u.language} {state}")


@users_group.command("revoke")
@click.argument("user_id")
@db_option
def revoke(user_id: str, database_url: str | None) -> None:
    """Revoke a user and every one of its API keys."""
    make_platform(database_url).access.revoke_user(user_id)
    click.echo(f"revoked {user_id} and its API keys")


@users_group.command("key")
@click.argument("user_id")
@click.option("--label", help="What the key is for.")
@db_option
def issue_key(user_id: str, label: str | None, database_url: str | None) -> None:
    """Issue another API key for a user (printed once)."""
    token = make_platform(database_url).access.issue_key(user_id, label=label).token
    click.echo(token)


@users_group.command("revoke-key")
@click.argument("key_id")
@db_option
def revoke_key(key_id: str, database_url: str | None) -> None:
    """Revoke one API key (its id is the part after ``sck_``)."""
    make_platform(database_url).access.revoke_key(key_id)
    click.echo(f"revoked key {key_id}")
