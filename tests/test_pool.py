"""The PostgreSQL connection pool: connections reused between requests, a connection the
server dropped replaced without an error page, none shared across a fork, and a full pool
answered as an unavailable database. Only PostgreSQL pools (SQLite opens a file)."""

import os
import threading

import psycopg2
import pytest

import database
from models import db

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="the pool is PostgreSQL's (TEST_DATABASE_URL)"
)


def backend_pid():
    return db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]


def pid_of_request(app):
    """The server process that answered a request of the app's, as a request uses it."""
    with app.test_request_context():
        db.connect(reuse_if_open=True)
        try:
            return backend_pid()
        finally:
            db.close()


@pytest.fixture
def pool(app):
    db.close()  # the test's own connection goes back: the pool is the requests'
    yield db.obj
    db.connect(reuse_if_open=True)


def test_requests_reuse_one_connection(app, pool, client):
    first = pid_of_request(app)
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 200
    assert pid_of_request(app) == first
    assert isinstance(pool, database.PostgresPool)


def test_a_connection_the_server_dropped_is_replaced_not_shown(app, pool, client, database_url):
    dropped = pid_of_request(app)
    with psycopg2.connect(database_url) as admin:
        admin.autocommit = True
        admin.cursor().execute("SELECT pg_terminate_backend(%s)", (dropped,))
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 200
    assert pid_of_request(app) != dropped


def test_a_forked_process_opens_its_own_connection_and_leaves_the_parents(app, pool):
    parent = pid_of_request(app)  # idle in the pool when the process forks
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.write(write, str(pid_of_request(app)).encode())
        finally:
            db.obj._state.reset()
            os._exit(0)
    os.close(write)
    child_pid = int(os.read(read, 32).decode())
    os.close(read)
    os.waitpid(child, 0)
    assert child_pid != parent
    assert pid_of_request(app) == parent  # the parent's connection still works, unshared


def test_a_forked_process_closing_its_pool_leaves_the_parents_connection(app, pool):
    """A child that closes every connection of its pool (as a worker shutting down does)
    closes none of its parent's: the inherited ones are not in its pool."""
    parent = pid_of_request(app)
    child = os.fork()
    if child == 0:  # pragma: no cover
        db.obj.close_all()
        os._exit(0)
    os.waitpid(child, 0)
    assert pid_of_request(app) == parent  # the parent's session was not ended


def test_a_full_pool_answers_503_not_500(app, database_url, client):
    small = database.open_database(database_url, pool_size=1, pool_timeout=0.1)
    previous = db.obj
    db.close()
    db.initialize(small)
    try:
        db.connect()  # this thread holds the only connection; a request in another waits, then
        statuses = []
        worker = threading.Thread(target=lambda: statuses.append(client.get("/").status_code))
        worker.start()
        worker.join()
        assert statuses == [503]
    finally:
        db.close()
        small.close_all()
        db.initialize(previous)
