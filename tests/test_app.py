"""The foundation seen over HTTP: pages, partials, headers, CSRF, errors, languages."""

import re
import runpy
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest

import factories
from app import create_app
from catalogues import compile_stale_catalogues, po_path, read_catalogue
from helpers import BOOSTED, HTMX, count_queries, csrf_token, log_in
from services import DomainError, accounts, catalogue, throttle
from services.urls import external_url, safe_next


def test_home_lists_the_catalogue(client):
    factories.service(name="Fiches de retenue d'impôt")
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<!doctype html>" in html
    assert "Fiches de retenue d&#39;impôt" in html
    assert "/static/js/htmx-2.0.11.min.js" in html
    assert '<html lang="fr">' in html


@pytest.mark.parametrize(
    "headers, full_page",
    [({}, True), (HTMX, False), (BOOSTED, True), ({**HTMX, "HX-History-Restore-Request": "true"}, True)],
    ids=["plain", "htmx", "boosted", "history-restore"],
)
def test_partial_only_for_real_htmx_requests(client, headers, full_page):
    factories.service(
        slug="elections-sociales",
        name="Élections sociales",
        administration_=factories.administration(code="ITM", name="Inspection du travail et des mines"),
    )
    response = client.get("/?q=ITM", headers=headers)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert ("<!doctype html>" in html) is full_page
    assert 'id="catalogue"' in html and "Élections sociales" in html
    assert "HX-Request" in response.headers["Vary"]


TITLE = re.compile(r"<title>(.*?)</title>")


def test_htmx_answers_carry_the_title_of_their_page(client, clock):
    """htmx makes a top-level <title> of what it swaps in the document's title: each htmx
    answer ends with its page's, so the title follows tabs, steps, searches and errors."""
    lea = factories.user()
    space = factories.space(lea, name="Guichet")
    log_in(client, lea)
    for url, title in [
        (f"/espaces/{space.id}", "Mes démarches · Guichet · Espace Pro"),
        (f"/espaces/{space.id}/communications", "Communications · Guichet · Espace Pro"),
        (f"/espaces/{space.id}/utilisateurs", "Mon profil d'espace · Guichet · Espace Pro"),
        ("/espaces?q=gui", "Gérer mes espaces · Espace Pro"),
        ("/espaces/nouveau/cgu", "Conditions générales d'utilisation · Espace Pro"),
        ("/compte", "Mon compte · Espace Pro"),
        ("/?q=ITM", "Espace Pro"),
        ("/nowhere", "Page introuvable · Espace Pro"),
    ]:
        page = unescape(client.get(url).get_data(as_text=True))
        partial = unescape(client.get(url, headers=HTMX).get_data(as_text=True)).strip()
        assert TITLE.findall(page) == TITLE.findall(partial) == [title], url
        assert "<html" not in partial and partial.endswith(f"<title>{title}</title>"), url  # top-level, last


def test_search_without_match_says_so(client):
    response = client.get("/?q=zzz", headers=HTMX)
    assert "Aucun service ne correspond à « zzz »" in response.get_data(as_text=True)


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def _assert_security_headers(response):
    csp = response.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value


@pytest.mark.parametrize(
    "path, headers, status",
    [
        ("/", {}, 200),
        ("/?q=a", HTMX, 200),
        ("/nowhere", {}, 404),
        ("/nowhere", HTMX, 404),
        ("/static/css/app.css", {}, 200),
    ],
)
def test_security_headers_everywhere(client, path, headers, status):
    response = client.get(path, headers=headers)
    assert response.status_code == status
    _assert_security_headers(response)


def test_security_headers_on_server_errors(app, client):
    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    response = client.get("/boom")
    assert response.status_code == 500
    assert "Une erreur inattendue" in response.get_data(as_text=True)
    _assert_security_headers(response)


@pytest.mark.parametrize("seconds, wait", [("60", "dans 1 minute."), ("900", "dans 15 minutes.")])
def test_the_429_page_says_minute_or_minutes(app, client, seconds, wait):
    from flask import Response
    from werkzeug.exceptions import TooManyRequests

    @app.get("/busy")
    def busy():
        raise TooManyRequests(response=Response(headers={"Retry-After": seconds}))

    response = client.get("/busy")
    assert response.status_code == 429 and f"Vous pourrez réessayer {wait}" in response.get_data(as_text=True)


def test_hsts_and_secure_cookie_in_production(database_url, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    app = create_app({"ESPACE_ENV": "production", "DATABASE_URL": database_url, "SECRET_KEY": "x" * 64})
    response = app.test_client().get("/static/css/app.css")
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert "dev" not in app.blueprints  # the outbox viewer is development-only


def test_production_session_cookie_has_the_host_prefix(database_url, monkeypatch):
    """__Host-: Secure, Path=/, no Domain, so no subdomain or http page can plant or shadow it."""
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    app = create_app({"ESPACE_ENV": "production", "DATABASE_URL": database_url, "SECRET_KEY": "x" * 64})
    cookie = app.test_client().get("/connexion?next=/compte").headers["Set-Cookie"]
    assert cookie.startswith("__Host-espace_session=")
    attributes = [part.strip().lower() for part in cookie.split(";")[1:]]
    assert "secure" in attributes and "path=/" in attributes and "httponly" in attributes
    assert not any(part.startswith("domain") for part in attributes)


def test_production_refuses_to_start_without_secret_key(database_url, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"ESPACE_ENV": "production", "DATABASE_URL": database_url, "SECRET_KEY": None})


def test_development_generates_and_keeps_a_secret_key(database_url, tmp_path, monkeypatch):
    import config

    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    monkeypatch.setattr("app.INSTANCE_DIR", tmp_path)
    first = create_app({"ESPACE_ENV": "development", "DATABASE_URL": database_url, "SECRET_KEY": None})
    second = create_app({"ESPACE_ENV": "development", "DATABASE_URL": database_url, "SECRET_KEY": None})
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    # Plain http (make run) would drop a __Host- cookie.
    cookie = first.test_client().get("/connexion?next=/compte").headers["Set-Cookie"]
    assert cookie.startswith("espace_session=")


def test_post_without_csrf_token_is_refused(client):
    response = client.post("/langue", data={"lang": "de"})
    assert response.status_code == 400
    assert "Le formulaire a expiré" in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "lang" not in session


def test_post_with_csrf_header_as_htmx_sends_it(client):
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post(
        "/langue", data={"lang": "de", "next": "/?q=a"}, headers={**HTMX, "X-CSRFToken": token}
    )
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/?q=a"  # never a 302 into an htmx swap
    with client.session_transaction() as session:
        assert session["lang"] == "de"


def test_plain_post_redirects_with_303_and_refuses_foreign_next(client):
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post(
        "/langue", data={"lang": "en", "next": "https://evil.example/", "csrf_token": token}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_switch_changes_the_words_not_only_lang(client, language):
    """Under lang="de" the page is German: its words are the catalogue's, not the French
    message ids announced as German (WCAG 3.1.1); its title and its htmx answers too."""
    catalogue = read_catalogue(po_path(language))
    compile_stale_catalogues()
    token = csrf_token(client.get("/").get_data(as_text=True))
    client.post("/langue", data={"lang": language, "csrf_token": token})
    for url, headers, french in [
        ("/", {}, ["Aller au contenu", "Votre espace professionnel en ligne"]),
        ("/connexion", {}, ["Aller au contenu", "Connexion"]),
        ("/connexion", HTMX, ["Connexion"]),  # the partial and its <title>
    ]:
        html = unescape(client.get(url, headers=headers).get_data(as_text=True))
        assert (f'<html lang="{language}">' in html) is not headers
        for message in french:
            translated = catalogue[message].string
            assert translated and translated in html, (url, message)
            assert message == translated or message not in html, (url, message)


def test_unknown_language_is_refused(client):
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post("/langue", data={"lang": "xx", "csrf_token": token})
    assert response.status_code == 400
    assert '<html lang="fr">' in client.get("/").get_data(as_text=True)


def test_htmx_errors_come_as_a_partial_for_the_main_area(client):
    response = client.get("/nowhere", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "<!doctype html>" not in html and "Page introuvable" in html
    assert response.headers["HX-Retarget"] == "#main"


class Refused(DomainError):
    status = 409
    message = "Refusé par la règle."


def refuse(error):
    def service(*args, **kwargs):
        raise error

    return service


@pytest.mark.parametrize("headers, full_page", [({}, True), (HTMX, False)], ids=["plain", "htmx"])
def test_a_refusal_no_view_shows_gets_its_status_and_message(client, monkeypatch, headers, full_page):
    """A DomainError that leaves a view of any blueprint (here main) is answered by the error
    page with its own status and message, never as a 500."""
    monkeypatch.setattr(catalogue, "search_services", refuse(Refused()))
    response = client.get("/", headers=headers)
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "Refusé par la règle." in html
    assert ("<!doctype html>" in html) is full_page
    assert "Retry-After" not in response.headers


def test_a_refusal_with_a_wait_sends_retry_after(client, clock, monkeypatch):
    """An auth view (asking for a new confirmation link) refused with a wait: 429, the
    message, and the wait in seconds in Retry-After."""
    person = factories.user(registered=False, registered_at=clock.now(), confirmation_sent_at=clock.now())
    log_in(client, person)
    token = csrf_token(client.get("/inscription/courriel").get_data(as_text=True))
    monkeypatch.setattr(accounts, "send_confirmation", refuse(throttle.Throttled(timedelta(minutes=2))))
    response = client.post("/inscription/courriel", data={"csrf_token": token})
    assert response.status_code == 429 and response.headers["Retry-After"] == "120"
    assert "Veuillez réessayer dans 2 minutes." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/espaces", "/espaces"),
        ("/a?b=c", "/a?b=c"),
        ("https://evil.example/", None),
        ("//evil.example", None),
        ("/\\evil.example", None),
        ("javascript:alert(1)", None),
        ("", None),
        (None, None),
        ("espaces", None),
    ],
)
def test_safe_next(target, expected):
    assert safe_next(target) == expected


def test_trusted_proxy_gives_the_client_address(database_url):
    app = create_app({"ESPACE_ENV": "test", "DATABASE_URL": database_url, "TRUSTED_PROXIES": 1})

    @app.get("/ip")
    def ip():
        from flask import request

        return request.remote_addr

    response = app.test_client().get("/ip", headers={"X-Forwarded-For": "203.0.113.7"})
    assert response.get_data(as_text=True) == "203.0.113.7"


def test_healthz_answers_200_while_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


@pytest.mark.parametrize("logged_in", [False, True])
def test_healthz_runs_one_query_and_leaves_the_session_alone(app, client, clock, logged_in):
    """A load balancer asks every few seconds: only `SELECT 1`, no session loaded or touched
    (even with a person's cookie, ten minutes after it was last seen), no cookie set."""
    if logged_in:
        log_in(client, factories.user("lea"))
        clock.advance(minutes=10)  # a page now would touch the session's last_seen_at
    for method in (client.get, client.head):
        with count_queries() as queries:
            response = method("/healthz")
        assert response.status_code == 200
        assert queries.statements == ["SELECT 1"]
        assert "Set-Cookie" not in response.headers
        assert response.headers["Cache-Control"] == "no-store"


def gunicorn_settings():
    import types

    from gunicorn.config import Config

    path = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"
    settings = {
        name: value
        for name, value in runpy.run_path(str(path)).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    config = Config()
    for name, value in settings.items():
        config.set(name, value)  # an unknown name or a wrong value fails here, as gunicorn would
    return config


def test_gunicorn_settings_are_fit_for_production(monkeypatch):
    for name in ("WORKERS", "BIND", "PORT"):
        monkeypatch.delenv(name, raising=False)
    config = gunicorn_settings()
    assert config.accesslog is None and config.errorlog == "-"  # the JSON request log instead
    assert config.preload_app is False  # no database connection shared across the fork
    assert 3 <= config.workers <= 12 and config.bind == ["127.0.0.1:5000"]
    assert config.keepalive < config.graceful_timeout < config.timeout <= 120
    assert 0 < config.max_requests_jitter < config.max_requests

    monkeypatch.setenv("WORKERS", "4")
    monkeypatch.setenv("PORT", "8000")
    config = gunicorn_settings()
    assert config.workers == 4 and config.bind == ["127.0.0.1:8000"]
    monkeypatch.setenv("BIND", "0.0.0.0:8080")
    assert gunicorn_settings().bind == ["0.0.0.0:8080"]


@pytest.mark.parametrize("base", ["https://espace.example.lu", "https://example.lu/portail/"])
def test_mails_link_to_public_url_in_a_request_and_from_cron(app, base):
    """A command run from cron has no request: its mails' links come from PUBLIC_URL too."""
    app.config["PUBLIC_URL"] = base
    expected = base.rstrip("/") + "/espaces/7/certifications"
    assert external_url("certifications.index", space_id=7) == expected
    with app.test_request_context("/", base_url="http://127.0.0.1:5000"):
        assert external_url("certifications.index", space_id=7) == expected
