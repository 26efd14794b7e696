"""Log-in, sessions, CSRF, language and the dashboard."""

from __future__ import annotations

from tests.portal.conftest import Portal


def test_pages_need_a_login(portal: Portal) -> None:
    r = portal.client.get("/portal/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/portal/login")
    assert portal.client.get("/", follow_redirects=False).headers["location"] == "/portal/"


def test_login_then_dashboard_then_logout(portal: Portal) -> None:
    r = portal.login("ana")
    assert r.status_code == 303  # type: ignore[attr-defined]
    page = portal.client.get("/portal/")
    assert page.status_code == 200
    assert "Consignments accepted" in page.text and 'lang="en"' in page.text
    assert "FR000730" in page.text
    token = portal.csrf("/portal/")
    r = portal.client.post("/portal/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert portal.client.get("/portal/", follow_redirects=False).status_code == 303


def test_wrong_password_is_refused_and_audited(portal: Portal) -> None:
    r = portal.login("ana", "not the password")
    assert r.status_code == 401  # type: ignore[attr-defined]
    assert "Unknown user or wrong password." in r.text  # type: ignore[attr-defined]
    actions = [e["action"] for e in portal.platform.store.audit_entries()]
    assert "portal.login_failed" in actions


def test_forms_without_the_csrf_token_are_refused(portal: Portal) -> None:
    r = portal.client.post(
        "/portal/login", data={"user_id": "ana", "password": "correct horse battery"}
    )
    assert r.status_code == 403
    assert "auth.forbidden" in r.text and "text/html" in r.headers["content-type"]


def test_language_follows_the_user_and_the_switch(portal: Portal) -> None:
    portal.login("ines")  # her language is Spanish
    page = portal.client.get("/portal/")
    assert 'lang="es"' in page.text and "Tablero" in page.text
    token = portal.csrf("/portal/")
    portal.client.post("/portal/language", data={"lang": "fr", "csrf_token": token})
    page = portal.client.get("/portal/")
    assert 'lang="fr"' in page.text and "Tableau de bord" in page.text
    assert portal.platform.access.user("ines").language == "fr"


def test_revoked_users_lose_their_session(portal: Portal) -> None:
    portal.login("ana")
    assert portal.client.get("/portal/").status_code == 200
    portal.platform.access.revoke_user("ana")
    assert portal.client.get("/portal/", follow_redirects=False).status_code == 303


def test_session_cookie_is_httponly_and_lax(portal: Portal) -> None:
    r = portal.login("ana")
    cookie = r.headers["set-cookie"]  # type: ignore[attr-defined]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
