"""The database as infrastructure: which database a URL names, the connection of each
request (pooled on PostgreSQL), row locks, and the size of a page of a list. The schema and
its migrations are migrations.py."""

import os
import threading
import weakref
from pathlib import Path
from urllib.parse import unquote, urlparse

from flask import request
from peewee import Node, OperationalError, SqliteDatabase
from playhouse.pool import MaxConnectionsExceeded, PooledDatabase, PooledPostgresqlDatabase

from models import db

SQLITE_PRAGMAS = {
    "journal_mode": "wal",  # readers never block the writer
    "busy_timeout": 5000,  # wait for a competing writer instead of failing at once
    "foreign_keys": 1,
    "synchronous": "normal",
}


class PostgresPool(PooledPostgresqlDatabase):
    """PostgreSQL connections kept open from one request to the next: opening one costs the
    server a process and a few milliseconds, more than most pages' queries.

    - An idle connection is checked (peewee rolls back or pings it) when it is taken: one the
      server dropped (a restart, a failover, an idle timeout) is replaced, not handed out.
    - Connections older than `stale_timeout` are closed when returned.
    - A process forked with the pool (gunicorn's `preload_app`, multiprocessing) starts with
      an empty one: a connection is never shared by two processes, and the child never closes
      (ends the session of) a connection its parent still uses.
    - More than `max_connections` at once in a process waits `timeout` seconds, then fails as
      the database being unavailable (503), like a database that does not answer.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _POOLS.add(self)

    def _forget_inherited(self):
        # Dropped, not closed: psycopg2 does not end a session when a forked child merely
        # lets go of the object; close() would end it for the parent too.
        self._connections, self._in_use = [], {}
        self._pool_lock = threading.RLock()
        self._pool_available = threading.Condition(self._pool_lock)
        self._lock = threading.Lock()
        self._state.reset()

    def connect(self, reuse_if_open=False):
        try:
            return super().connect(reuse_if_open)
        except MaxConnectionsExceeded as exc:
            raise OperationalError(str(exc)) from exc


_POOLS = weakref.WeakSet()
os.register_at_fork(after_in_child=lambda: [pool._forget_inherited() for pool in list(_POOLS)])


def open_database(url, pool_size=10, pool_timeout=10, stale_timeout=300):
    """A peewee database for `sqlite:///path` or `postgresql://user:pw@host:port/name`."""
    if url.startswith("sqlite:///"):
        # sqlite:///relative/path.db or sqlite:////absolute/path.db, as SQLAlchemy writes them
        # Transactions start with BEGIN IMMEDIATE: they take the write lock first and wait
        # for it (busy_timeout), instead of failing when another writer commits between
        # their first read and their first write.
        return SqliteDatabase(url[len("sqlite:///") :], pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE")
    parsed = urlparse(url)
    if parsed.scheme in {"postgres", "postgresql"}:
        return PostgresPool(
            unquote(parsed.path.lstrip("/")),
            max_connections=pool_size,
            timeout=pool_timeout,
            stale_timeout=stale_timeout,
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            host=parsed.hostname,
            port=parsed.port,
        )
    raise RuntimeError(f"DATABASE_URL must start with sqlite:/// or postgresql://, not {url!r}")


def init_app(app):
    database = open_database(
        app.config["DATABASE_URL"],
        pool_size=app.config["DATABASE_POOL_SIZE"],
        pool_timeout=app.config["DATABASE_POOL_TIMEOUT"],
    )
    if isinstance(database, SqliteDatabase):
        Path(database.database).parent.mkdir(parents=True, exist_ok=True)
    if isinstance(db.obj, PooledDatabase):
        db.obj.close_idle()  # an earlier app of this process (tests, scripts) gives its own back
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


class Parameter(Node):
    """Where a value of a `Prepared` query goes, named; the value is given at each run."""

    def __init__(self, name):
        super().__init__()
        self.name = name

    def __sql__(self, ctx):
        return ctx.value(_Slot(self.name), converter=False)  # left for `Prepared` to fill


class _Slot(str):
    """A parameter's name in a compiled query's values (never a value of the query itself)."""


class Prepared:
    """A query that runs on (nearly) every request with the same shape, such as the session's
    or the membership's: peewee compiles it to SQL, and maps the result's columns to its
    models, once per kind of database instead of at each run (for a SELECT of two wide rows,
    ~0.7 ms and ~0.2 ms, more than the database takes to answer); the rows are the same model
    instances. `query` has a `Parameter(name)` where each value goes; the values are given as
    the columns take them (no field conversion)."""

    def __init__(self, query):
        self.query = query
        self._compiled = {}

    def _execute(self, values):
        """The cursor of a run, and the query's compiled form for the database in use."""
        kind = type(db.obj)
        compiled = self._compiled.get(kind)
        if compiled is None:
            compiled = self._compiled[kind] = [
                *self.query.sql(),
                None,
            ]  # the rows' mapping: at the first `first`
        sql, params, _ = compiled
        cursor = db.execute_sql(sql, [values[p] if isinstance(p, _Slot) else p for p in params])
        return cursor, compiled

    def first(self, **values):
        """The first row with these values, or None (the query has its own LIMIT 1)."""
        cursor, compiled = self._execute(values)
        if compiled[2] is None:
            rows = self.query._get_cursor_wrapper(cursor)
            rows.initialize()  # from the cursor's description: the same at each run
            compiled[2] = rows
        row = cursor.fetchone()
        cursor.close()
        return None if row is None else compiled[2].process_row(row)

    def scalar(self, **values):
        """The first column of the first row with these values: an aggregate's (a COUNT)."""
        cursor, _ = self._execute(values)
        row = cursor.fetchone()
        cursor.close()
        return row[0]


PAGE_SIZE = 50  # rows on a page of any list
