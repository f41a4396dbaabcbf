"""Test helpers shared by the suite."""

import logging
import re
import threading
from contextlib import contextmanager


class QueryCounter(logging.Handler):
    """Counts the SQL statements peewee runs (it logs each one to the "peewee" logger)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.statements = []

    def emit(self, record):
        if record.name != "peewee":  # peewee.pool's news of its connections is no statement
            return
        sql = record.msg[0] if isinstance(record.msg, tuple) else str(record.msg)
        self.statements.append(sql)

    @property
    def count(self):
        return len(self.statements)


@contextmanager
def count_queries():
    """`with count_queries() as q: client.get(...)` then `q.count`, `q.statements`."""
    logger = logging.getLogger("peewee")
    counter = QueryCounter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)


def assert_constant_queries(client, url, grow, small=5, large=200, **request_kwargs):
    """The page at `url` must run as many statements with `large` rows as with `small`.

    `grow(n)` brings the data to n rows of whatever the page lists."""
    counts = {}
    for n in (small, large):
        grow(n)
        with count_queries() as q:
            response = client.get(url, **request_kwargs)
        assert response.status_code == 200, response.status_code
        counts[n] = q.count
    assert counts[small] == counts[large], f"queries grow with rows: {counts}"
    return counts[large]


def fingerprint():
    """Everything a refused request must leave as it was: every row, each column, of the
    spaces, their members and invitations, the access codes, mandates, certifications,
    certification requests, professional data and dossiers (with their files and history).
    `before = fingerprint()`, then `assert fingerprint() == before`."""
    from models import (
        AccessCode,
        Certification,
        CertificationRequest,
        Dossier,
        DossierEvent,
        DossierFile,
        Invitation,
        Mandate,
        Membership,
        Space,
        VaultEntry,
    )

    return {
        model.__name__: list(model.select().order_by(model._meta.primary_key).tuples())
        for model in (
            Space,
            Membership,
            Invitation,
            AccessCode,
            Mandate,
            Certification,
            CertificationRequest,
            VaultEntry,
            Dossier,
            DossierFile,
            DossierEvent,
        )
    }


def csrf_token(html):
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


HTMX = {"HX-Request": "true"}
BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}


def log_in(client, user):
    """Open a real session for `user` (as the login's last step does) without going through
    the password and one-time code pages, which tests/test_auth_http.py covers."""
    from services import auth

    token = auth.open_session(user, "127.0.0.1")
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
    return client


def agent_log_in(client, userid="agent.alva", password=None):
    """Log an agent in as the back-office asks: password, then a current one-time code (at
    the first login, the code that confirms the secret shown). Returns the last response:
    a 303 to /back-office when both passed. Each code is accepted once: a second login
    needs the clock 30 seconds on."""
    import factories
    from models import Agent
    from services import auth

    page = client.get("/back-office/connexion")
    response = client.post(
        "/back-office/connexion",
        data={
            "userid": userid,
            "password": password or factories.AGENT_PASSWORD,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    if response.status_code != 303 or response.headers["Location"] == "/back-office/connexion":
        return response
    step = response.headers["Location"]  # the code, or the enrolment at the first login
    page = client.get(step)
    secret = auth.totp_secret(Agent.get(Agent.userid_key == userid.lower()))
    return client.post(
        step, data={"otp": factories.otp(secret), "csrf_token": csrf_token(page.get_data(as_text=True))}
    )


def at_once(app, calls):
    """Run each call in its own thread and database connection, all released together;
    returns each call's outcome: "ok" or the exception raised."""
    from models import db

    db.close()  # each thread opens its own connection
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(index, call):
        with app.test_request_context():
            db.connect(reuse_if_open=True)
            try:
                barrier.wait()
                call()
                outcomes[index] = "ok"
            except Exception as error:  # noqa: BLE001 - the test asserts on what was raised
                outcomes[index] = error
            finally:
                db.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    db.connect(reuse_if_open=True)
    return outcomes


def pdf_signature_status(pdf, certificate):
    """pyHanko's status of the one signature of `pdf` (bytes), `certificate` trusted. In a
    thread of its own: pyHanko runs an event loop, which one already running refuses (that of
    Playwright, once a browser test has run)."""
    import io
    from concurrent.futures import ThreadPoolExecutor

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    def status():
        [signature] = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
        return signature, validate_pdf_signature(signature, ValidationContext(trust_roots=[certificate]))

    with ThreadPoolExecutor(1) as executor:
        return executor.submit(status).result()
