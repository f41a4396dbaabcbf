"""The one source of "now" (naive UTC), so tests can move time instead of sleeping.

A test that runs the commands in processes of their own freezes their clock with
ESPACE_TEST_NOW (an ISO date and time, naive UTC), honoured only with ESPACE_ENV=test."""

import calendar
import os
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

_frozen = None
if os.environ.get("ESPACE_ENV") == "test" and os.environ.get("ESPACE_TEST_NOW"):
    _frozen = datetime.fromisoformat(os.environ["ESPACE_TEST_NOW"])


def now():
    if _frozen is not None:
        return _frozen
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def set_now(value):
    global _frozen
    _frozen = value


def advance(**delta):
    set_now(now() + timedelta(**delta))


@contextmanager
def frozen(value):
    previous = _frozen
    set_now(value)
    try:
        yield
    finally:
        set_now(previous)


def timestamp():
    """Seconds since the epoch of `now()` (naive UTC, whatever the machine's zone)."""
    return calendar.timegm(now().timetuple())
