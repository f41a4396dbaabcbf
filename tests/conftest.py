"""Fixtures: an app on a real database (a temporary SQLite file, or TEST_DATABASE_URL for
PostgreSQL), its client and CLI runner, a request context, a controlled clock and a real SMTP
server on loopback. The browser's are in tests/browser/conftest.py."""

import os
import socket
import sys
import threading
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", "/tmp/espace-pro-hypothesis")
# The command line speaks the environment's language (app.select_locale): the suite expects
# the default, French, whatever the machine's locale; tests that want another set it.
for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
    os.environ.pop(variable, None)
os.environ["LANG"] = "C.UTF-8"

import clock as clock_module  # noqa: E402
from app import create_app  # noqa: E402
from migrations import upgrade  # noqa: E402
from models import MODELS, db  # noqa: E402


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("instance")


def make_app(database_url, **overrides):
    return create_app({"ESPACE_ENV": "test", "DATABASE_URL": database_url, **overrides})


@pytest.fixture(scope="session")
def _schema(database_url):
    app = make_app(database_url)
    with app.app_context():
        db.connect(reuse_if_open=True)
        db.drop_tables(list(reversed(MODELS)) + _migration_table(), safe=True, cascade=_is_pg())
        upgrade()
        db.close()
    return True


def _migration_table():
    from migrations import SchemaMigration

    return [SchemaMigration]


def _is_pg():
    from peewee import PostgresqlDatabase

    return isinstance(db.obj, PostgresqlDatabase)


def _empty_tables():
    tables = [m._meta.table_name for m in reversed(MODELS)]
    if _is_pg():
        db.execute_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
    else:
        with db.atomic():
            for table in tables:
                db.execute_sql(f'DELETE FROM "{table}"')


class FreshContextClient(FlaskClient):
    """Each request gets its own app context (and `g`), as in a real server, even though the
    test holds one open to call services directly."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(_schema, database_url, tmp_path, instance_dir):
    app = make_app(
        database_url,
        AUDIT_CHECKPOINT=str(tmp_path / "audit-checkpoint"),
        # One signing key for the receipts of the whole run, made at its first receipt.
        RECEIPT_KEY_FILE=str(instance_dir / "receipt-key.pem"),
        RECEIPT_CERT_FILE=str(instance_dir / "receipt-cert.pem"),
    )
    app.test_client_class = FreshContextClient
    with app.app_context():
        db.connect(reuse_if_open=True)
        yield app
        if not db.is_closed():
            db.close()
        db.connect()
        _empty_tables()
        db.close()


@pytest.fixture(name="make_app")
def make_app_fixture():
    """`make_app(database_url, **settings)`: an app of the test's settings on another database."""
    return make_app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def request_context(app):
    """Services build the links of their mails and letters from the request, as in a real
    request: modules calling them use `pytestmark = pytest.mark.usefixtures("request_context")`."""
    with app.test_request_context():
        yield


@pytest.fixture
def clock():
    """The app's clock, frozen at a known instant; move it with clock.advance(hours=…)."""
    from datetime import datetime

    clock_module.set_now(datetime(2026, 3, 25, 7, 40, 40))
    yield clock_module
    clock_module.set_now(None)


# --- SMTP ------------------------------------------------------------------------------


class SMTPSink:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives; it can be
    stopped and started again on the same port, as a mail server going down and back."""

    def __init__(self):
        self.messages = []
        self.received = threading.Condition()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        with self.received:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self.received.notify_all()
        return "250 OK"

    def wait_for(self, count, timeout=5):
        """The messages once `count` have arrived: a live server sends its mail after the
        response has gone, so a browser test waits for it (woken by each arrival)."""
        with self.received:
            if not self.received.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"{count} mail(s) expected, {len(self.messages)} received")
            return list(self.messages)

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(app):
    """A running SMTP server the app sends to (MAIL_SERVER set on the app)."""
    sink = SMTPSink()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port)
    from services.mail import mail

    mail.init_app(app)
    sink.start()
    yield sink
    sink.stop()
