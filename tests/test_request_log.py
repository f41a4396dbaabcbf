"""The request log: one JSON line per request (blueprints/request_log.py), its request id in
the X-Request-ID header and on the error pages, and nothing in it that a person typed."""

import json
import logging
import re
import sys

import pytest

import factories
from blueprints import request_log
from helpers import HTMX, agent_log_in, csrf_token, log_in

GENERATED = re.compile(r"[0-9a-f]{32}")
FIELDS = {"time", "method", "path", "status", "duration_ms", "request_id"}


class Lines(logging.Handler):
    """The request logger's lines, formatted as the server writes them, then read back."""

    def __init__(self):
        super().__init__()
        self.setFormatter(request_log.JsonFormatter())
        self.text = []

    def emit(self, record):
        self.text.append(self.format(record))

    @property
    def lines(self):
        return [json.loads(line) for line in self.text]


@pytest.fixture
def log(app):
    app.config["LOG_REQUESTS"] = True
    handler = Lines()
    request_log.logger.addHandler(handler)
    yield handler
    request_log.logger.removeHandler(handler)


def only_line(log):
    assert len(log.lines) == 1, log.text
    return log.lines[0]


def test_a_page_gives_one_line_with_its_rule_status_time_and_request_id(client, log):
    response = client.get("/?q=fiches")
    line = only_line(log)
    assert set(line) == FIELDS  # no one logged in: no user
    assert line["method"] == "GET" and line["path"] == "/" and line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert GENERATED.fullmatch(line["request_id"])
    assert response.headers["X-Request-ID"] == line["request_id"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])
    assert "fiches" not in log.text[0]  # the query string stays out


def test_a_logged_in_page_names_the_person_by_id_and_the_url_by_its_rule(client, log, clock):
    lea = factories.user("lea")
    space = factories.space(lea)
    log_in(client, lea)
    assert client.get(f"/espaces/{space.id}").status_code == 200
    line = only_line(log)
    assert line["path"] == "/espaces/<id:space_id>"
    assert line["user_id"] == lea.id and "agent_id" not in line


def test_an_agent_is_named_by_its_own_key(client, log, clock):
    agent = factories.agent()
    agent_log_in(client)
    log.text.clear()
    assert client.get("/back-office").status_code == 200
    line = only_line(log)
    assert line["path"] == "/back-office"
    assert line["agent_id"] == agent.id and "user_id" not in line


def test_a_page_not_found_shows_its_reference_and_logs_no_path(client, log):
    for headers in ({}, HTMX):
        log.text.clear()
        response = client.get("/espaces/code-ABCD-EFGH?code=ABCD-EFGH-IJKL", headers=headers)
        assert response.status_code == 404
        reference = response.headers["X-Request-ID"]
        assert f"Référence de l'erreur : {reference}" in response.get_data(as_text=True)
        line = only_line(log)
        assert line == {**line, "path": "-", "status": 404, "request_id": reference}
        assert "ABCD" not in log.text[0]


def test_an_unexpected_error_gives_its_reference_in_the_page_the_header_and_the_traceback(
    app, client, log, caplog
):
    @app.get("/panne")
    def broken():
        raise ZeroDivisionError("boom")

    response = client.get("/panne")
    assert response.status_code == 500
    reference = response.headers["X-Request-ID"]
    assert GENERATED.fullmatch(reference)
    assert f"Référence de l'erreur : {reference}" in response.get_data(as_text=True)
    assert only_line(log) == {**only_line(log), "path": "/panne", "status": 500, "request_id": reference}
    [error] = [record for record in caplog.records if record.exc_info]
    assert reference in error.getMessage() and error.exc_info[0] is ZeroDivisionError


def test_nothing_typed_into_a_form_or_a_query_string_reaches_the_log(client, log, clock):
    factories.user("lea")
    page = client.get("/connexion/token")
    client.post(
        "/connexion/token?code=QWER-TYUI-OPAS",
        data={"userid": "lea", "csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    page = client.get("/connexion/token/mot-de-passe")
    log.text.clear()
    response = client.post(
        "/connexion/token/mot-de-passe?token=zxcvbnm123",
        data={"password": "un secret bien gardé", "csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    assert response.status_code in {303, 401}, response.status_code
    line = only_line(log)
    assert line["method"] == "POST" and line["path"] == "/connexion/token/mot-de-passe"
    for typed in ("secret", "zxcvbnm123", "csrf", "lea"):
        assert typed not in log.text[0]


@pytest.mark.parametrize(
    "incoming, kept",
    [
        ("lb-7f3a.2026_11_23", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("x y", False),
        ('"}, "status": 200', False),
        ("é", False),
        ("", False),
    ],
)
def test_an_incoming_request_id_is_kept_only_when_it_is_a_short_safe_token(app, client, log, incoming, kept):
    app.config["TRUSTED_PROXIES"] = 1  # a proxy in front sets it
    response = client.get("/", headers={"X-Request-ID": incoming})
    sent = response.headers["X-Request-ID"]
    assert (sent == incoming) is kept
    assert kept or GENERATED.fullmatch(sent)
    assert only_line(log)["request_id"] == sent


def test_without_a_proxy_in_front_a_clients_request_id_is_not_taken(app, client, log):
    """Anyone could send another request's id, and lead the helpdesk to the wrong line."""
    assert app.config["TRUSTED_PROXIES"] == 0
    response = client.get("/", headers={"X-Request-ID": "lb-7f3a.2026_11_23"})
    sent = response.headers["X-Request-ID"]
    assert sent != "lb-7f3a.2026_11_23" and GENERATED.fullmatch(sent)
    assert only_line(log)["request_id"] == sent


def test_static_files_and_healthz_are_logged_only_when_they_fail(client, log):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200 and GENERATED.fullmatch(response.headers["X-Request-ID"])
    assert client.get("/healthz").status_code == 200
    assert log.text == []
    assert client.get("/static/css/nowhere.css").status_code == 404
    assert only_line(log)["path"] == "/static/<path:filename>"


def test_no_line_without_log_requests_but_the_id_all_the_same(app, client):
    handler = Lines()
    request_log.logger.addHandler(handler)
    try:
        assert app.config["LOG_REQUESTS"] is False  # the tests' default
        assert GENERATED.fullmatch(client.get("/").headers["X-Request-ID"])
    finally:
        request_log.logger.removeHandler(handler)
    assert handler.text == []


def test_the_formatter_writes_other_records_and_tracebacks_as_json():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed %s", ("here",), sys.exc_info())
    line = json.loads(request_log.JsonFormatter().format(record))
    assert line["level"] == "ERROR" and line["message"] == "failed here"
    assert "ValueError: boom" in line["exception"]
