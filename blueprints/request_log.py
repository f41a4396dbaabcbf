"""One JSON line per request, and the request id that finds it again.

Each request gets an id: the `X-Request-ID` a proxy in front sent (TRUSTED_PROXIES), when it
is a short safe token, else a new one. It goes back in the `X-Request-ID` header of every response, on the
error pages ("Référence de l'erreur") and in the log, so that a person's report leads to
the line, and to the traceback of a 500. The line holds the method, the URL rule (never the
path as typed or its query string, which may carry a code), the status, the duration, the
request id and who was logged in; never a form, a header or a cookie.

`LOG_REQUESTS` turns the lines on (the id is always given). Static files and `/healthz` are
logged only when they fail: a page brings its style sheet and script, revalidated on each
visit, and a load balancer asks for /healthz every few seconds; neither says anything while
it answers."""

import json
import logging
import re
import time
import uuid
from datetime import datetime, timezone

from flask import current_app, g, request
from flask.logging import wsgi_errors_stream

logger = logging.getLogger("espace_pro.requests")
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
QUIET_ENDPOINTS = {"static", "main.healthz"}


class JsonFormatter(logging.Formatter):
    """A record whose message is a dict becomes that dict as one JSON line, after its time
    (UTC, ISO 8601, milliseconds); any other record gives its message. A traceback goes
    in "exception"."""

    def format(self, record):
        moment = datetime.fromtimestamp(record.created, timezone.utc)
        line = {"time": moment.isoformat(timespec="milliseconds")}
        if isinstance(record.msg, dict):
            line.update(record.msg)
        else:
            line.update(level=record.levelname, message=record.getMessage())
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


handler = logging.StreamHandler(wsgi_errors_stream)  # stderr; under gunicorn, its error log
handler.setFormatter(JsonFormatter())


def request_id():
    """This request's id (made on first use, should a hook fail before `start` ran)."""
    if "request_id" not in g:
        # Only a proxy in front (TRUSTED_PROXIES) is believed: a client's own id could
        # take another request's and lead the helpdesk to the wrong line.
        incoming = request.headers.get("X-Request-ID", "") if current_app.config["TRUSTED_PROXIES"] else ""
        g.request_id = incoming if SAFE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    return g.request_id


def start():
    g.request_started = time.perf_counter()
    request_id()


def finish(response):
    response.headers["X-Request-ID"] = request_id()
    if current_app.config["LOG_REQUESTS"] and (
        request.endpoint not in QUIET_ENDPOINTS or response.status_code >= 400
    ):
        logger.info(line(response.status_code))
    return response


def line(status):
    started = g.get("request_started")
    fields = {
        "method": request.method,
        "path": request.url_rule.rule if request.url_rule else "-",  # no rule: a 404 or a 405
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        "request_id": request_id(),
    }
    # Who, when the request loaded them already (never a query for the log): the person's
    # Flask-Login user, the agent's back-office session (blueprints/backoffice/routes.py).
    user = g.get("_login_user")
    if user is not None and user.is_authenticated:
        fields["user_id"] = user.id
    agent = g.get("agent")
    if agent is not None:
        fields["agent_id"] = agent.id
    return fields


def init_app(app):
    """Call it first: the id and the clock start before any other hook may answer."""
    if handler not in logger.handlers:  # once per process, however many apps are created
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # the lines are data, not messages for the app's log
    app.before_request(start)
    app.after_request(finish)  # registered first, so run last: it times the other hooks
