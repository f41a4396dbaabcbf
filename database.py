"""The database as infrastructure: which database a URL names, the connection of each
request, row locks, and the size of a page of a list. The schema and its migrations are
migrations.py."""

from pathlib import Path
from urllib.parse import unquote, urlparse

from flask import request
from peewee import PostgresqlDatabase, SqliteDatabase

from models import db

SQLITE_PRAGMAS = {
    "journal_mode": "wal",  # readers never block the writer
    "busy_timeout": 5000,  # wait for a competing writer instead of failing at once
    "foreign_keys": 1,
    "synchronous": "normal",
}


def open_database(url):
    """A peewee database for `sqlite:///path` or `postgresql://user:pw@host:port/name`."""
    if url.startswith("sqlite:///"):
        # sqlite:///relative/path.db or sqlite:////absolute/path.db, as SQLAlchemy writes them
        # Transactions start with BEGIN IMMEDIATE: they take the write lock first and wait
        # for it (busy_timeout), instead of failing when another writer commits between
        # their first read and their first write.
        return SqliteDatabase(url[len("sqlite:///") :], pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE")
    parsed = urlparse(url)
    if parsed.scheme in {"postgres", "postgresql"}:
        return PostgresqlDatabase(
            unquote(parsed.path.lstrip("/")),
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            host=parsed.hostname,
            port=parsed.port,
        )
    raise RuntimeError(f"DATABASE_URL must start with sqlite:/// or postgresql://, not {url!r}")


def init_app(app):
    database = open_database(app.config["DATABASE_URL"])
    if isinstance(database, SqliteDatabase):
        Path(database.database).parent.mkdir(parents=True, exist_ok=True)
    db.initialize(database)

    @app.before_request
    def _connect():
        if request.endpoint != "static":  # files need no database
            db.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc):
        if not db.is_closed():
            db.close()


def lock_row(model, row_id):
    """Take the row's lock for the rest of the transaction (a no-op UPDATE), so that
    check-then-write sequences on it run one at a time across workers. PostgreSQL needs it;
    SQLite transactions already begin IMMEDIATE (open_database) and run one at a time."""
    return model.update({model.id: model.id}).where(model.id == row_id).execute()


PAGE_SIZE = 50  # rows on a page of any list
