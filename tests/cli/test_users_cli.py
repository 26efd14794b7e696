"""``smartcustoms users``: add with a key shown once, list, revoke; and ``serve`` wiring."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from smartcustoms.access import Role
from smartcustoms.cli import cli
from smartcustoms.config import load_settings
from smartcustoms.platform import SmartCustoms


def _run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_add_list_revoke(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'u.db'}"
    code, out, _ = _run(
        "users",
        "add",
        "ana",
        "--role",
        "officer",
        "--office",
        "FR000730",
        "--office",
        "FR000740",
        "--password-stdin",
        "--db",
        db,
        "--json",
        stdin="correct horse battery\n",
    )
    assert code == 0
    added = json.loads(out)
    assert added["user"]["offices"] == ["FR000730", "FR000740"]
    assert added["user"]["has_password"] is True
    token = added["api_key"]
    platform = SmartCustoms(load_settings(database_url=db))
    assert platform.access.authenticate_key(token).role is Role.OFFICER
    assert platform.access.authenticate_password("ana", "correct horse battery").user_id == "ana"

    code, out, _ = _run("users", "list", "--db", db, "--json")
    assert [u["user_id"] for u in json.loads(out)] == ["ana"]
    code, out, _ = _run("users", "revoke", "ana", "--db", db)
    assert code == 0
    code, out, _ = _run("users", "list", "--db", db, "--json")
    assert json.loads(out) == []
    code, out, _ = _run("users", "list", "--all", "--db", db)
    assert "revoked" in out
    platform.close()


def test_bad_users_exit_1_with_every_problem(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'u.db'}"
    code, _, err = _run("users", "add", "shop", "--role", "filer", "--office", "X", "--db", db)
    assert code == 1
    assert "error[user.invalid]" in err and "user.filer_id" in err
    code, _, err = _run("users", "revoke", "nobody", "--db", db)
    assert code == 1 and "error[user.not_found]" in err


def test_serve_is_a_command() -> None:
    code, out, _ = _run("serve", "--help")
    assert code == 0 and "--port" in out


def test_demo_users_one_per_role_with_working_passwords(tmp_path: Path) -> None:
    from smartcustoms.cli.clear import demo_users

    platform = SmartCustoms(load_settings(database_url=f"sqlite:///{tmp_path / 'd.db'}"))
    first = demo_users(platform)
    assert {platform.access.user(u).role.value for u in first} == {
        "filer",
        "officer",
        "analyst",
        "admin",
        "partner",
    }
    again = demo_users(platform)  # a rerun prints new, working credentials
    for user_id, password in again.items():
        assert password != first[user_id]
        assert platform.access.authenticate_password(user_id, password).user_id == user_id
    platform.close()
