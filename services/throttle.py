"""Failure throttling kept in the database (SPEC §11): 10 failures in 15 minutes impose a
15-minute wait; 100 consecutive failures lock the key until the helpdesk unlocks it.

Each counter moves with single UPDATE statements, so concurrent requests in several
workers count every failure exactly once.
"""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from peewee import Case

from models import Throttle
from services import DomainError, clock

WINDOW = timedelta(minutes=15)
MAX_IN_WINDOW = 10
WAIT = timedelta(minutes=15)
MAX_CONSECUTIVE = 100


class Throttled(DomainError):
    status = 429

    def __init__(self, retry_after):
        self.retry_after = max(int(retry_after.total_seconds()), 1)
        minutes = (self.retry_after + 59) // 60
        super().__init__(_l("Trop de tentatives erronées. Veuillez réessayer dans %(minutes)s minute(s).", minutes=minutes))


class Locked(DomainError):
    status = 423

    def __init__(self):
        super().__init__(_l("Trop de tentatives erronées : l'accès est bloqué. Contactez le Helpdesk pour le débloquer."))


def check(*keys):
    """Raise Locked or Throttled when any key may not try now."""
    now = clock.now()
    rows = list(Throttle.select().where(Throttle.key.in_(keys)))
    if any(row.locked_at for row in rows):
        raise Locked()
    waits = [row.blocked_until - now for row in rows if row.blocked_until and row.blocked_until > now]
    if waits:
        raise Throttled(max(waits))


def fail(key, lockable=True):
    """Count one failure for `key`. `lockable=False` for keys shared by many people (an
    office's address): they wait, but are never locked."""
    now = clock.now()
    Throttle.insert(key=key).on_conflict_ignore().execute()
    window_expired = Throttle.window_started_at.is_null() | (Throttle.window_started_at <= now - WINDOW)
    Throttle.update(
        window_failures=Case(None, [(window_expired, 1)], Throttle.window_failures + 1),
        window_started_at=Case(None, [(window_expired, now)], Throttle.window_started_at),
        consecutive_failures=Throttle.consecutive_failures + 1,
    ).where(Throttle.key == key).execute()
    Throttle.update(blocked_until=now + WAIT, window_failures=0, window_started_at=None).where(
        Throttle.key == key, Throttle.window_failures >= MAX_IN_WINDOW
    ).execute()
    if lockable:
        Throttle.update(locked_at=now).where(
            Throttle.key == key, Throttle.consecutive_failures >= MAX_CONSECUTIVE, Throttle.locked_at.is_null()
        ).execute()


def is_locked(key):
    return Throttle.select().where(Throttle.key == key, Throttle.locked_at.is_null(False)).exists()


def succeed(*keys):
    """A success ends the run of consecutive failures (a lock stays until unlocked)."""
    Throttle.update(consecutive_failures=0, window_failures=0, window_started_at=None).where(
        Throttle.key.in_(keys), Throttle.locked_at.is_null()
    ).execute()


def unlock(*keys):
    """Helpdesk: clear these counters (exact keys); returns how many."""
    return (
        Throttle.update(
            consecutive_failures=0, window_failures=0, window_started_at=None, blocked_until=None, locked_at=None
        )
        .where(Throttle.key.in_(keys))
        .execute()
    )
