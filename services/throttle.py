"""Failure throttling kept in the database, so that every worker sees it.

Per account (a UserID, a person's code entry): 10 failures in 15 minutes impose a 15-minute
wait; 100 consecutive failures lock the account until the helpdesk unlocks it. A try counts
as a failure *before* its secret is checked (`reserve`, one UPDATE … RETURNING), and is given
back when the secret was right: workers checking in parallel never check more tries than
the limit allows.

Per client address: an office behind one address must not wait for one person's typos, so
an address counts the distinct accounts that failed from it; 100 in 15 minutes (passwords
sprayed over many UserIDs) make it wait 15 minutes. An address is never locked, and a
success clears only its account's counter.

    attempt = throttle.reserve(account_key, address_key)  # Throttled or Locked: no try now
    ...check the secret...
    throttle.fail(attempt)     # wrong: stays counted; True when it locked the account
    throttle.succeed(attempt)  # right, and the person is in: the account's run of failures ends
    throttle.release(attempt)  # right, but a step remains (the password before the OTP)
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l, ngettext
from peewee import Case

import clock
from models import AddressFailure, Throttle, db
from services import DomainError

WINDOW = timedelta(minutes=15)
MAX_IN_WINDOW = 10
WAIT = timedelta(minutes=15)
MAX_CONSECUTIVE = 100
ADDRESS_MAX_ACCOUNTS = 100  # distinct accounts failing from one address in WINDOW


class Throttled(DomainError):
    status = 429

    def __init__(self, retry_after):
        self.retry_after = max(int(retry_after.total_seconds()), 1)
        minutes = (self.retry_after + 59) // 60
        super().__init__(
            ngettext(
                "Trop de tentatives erronées. Veuillez réessayer dans %(num)d minute.",
                "Trop de tentatives erronées. Veuillez réessayer dans %(num)d minutes.",
                minutes,
            )
        )


class Locked(DomainError):
    status = 423
    message = _l("Trop de tentatives erronées : l'accès est bloqué. Contactez le Helpdesk pour le débloquer.")


@dataclass(frozen=True)
class Attempt:
    """A try counted in advance: what `release` must give back."""

    key: str
    address: str | None
    window_started_at: datetime
    blocked_until: datetime | None  # the wait this try imposed (the 10th of its window)
    locked_at: datetime | None  # the lock this try imposed (the 100th in a row)


def check(*keys):
    """Raise Locked or Throttled when any key may not try now."""
    now = clock.now()
    rows = list(Throttle.select().where(Throttle.key.in_(keys)))
    if any(row.locked_at for row in rows):
        raise Locked()
    waits = [row.blocked_until - now for row in rows if row.blocked_until and row.blocked_until > now]
    if waits:
        raise Throttled(max(waits))


def reserve(key, address=None):
    """Count one failure of `key` before its secret is checked, or raise Locked or Throttled,
    counting nothing, when `key` or `address` may not try now. The 10th failure of a window
    imposes the wait and the 100th in a row the lock, in the same statement."""
    if address:
        check(address)
    now = clock.now()
    Throttle.insert(key=key).on_conflict_ignore().execute()
    expired = Throttle.window_started_at.is_null() | (Throttle.window_started_at <= now - WINDOW)
    window_failures = Case(None, [(expired, 1)], Throttle.window_failures + 1)
    # SET expressions read the row as it was before the statement, in SQLite and PostgreSQL.
    rows = list(
        Throttle.update(
            window_failures=window_failures,
            window_started_at=Case(None, [(expired, now)], Throttle.window_started_at),
            consecutive_failures=Throttle.consecutive_failures + 1,
            blocked_until=Case(None, [(window_failures >= MAX_IN_WINDOW, now + WAIT)], None),
            locked_at=Case(None, [(Throttle.consecutive_failures + 1 >= MAX_CONSECUTIVE, now)], None),
        )
        .where(
            Throttle.key == key,
            Throttle.locked_at.is_null(),
            Throttle.blocked_until.is_null() | (Throttle.blocked_until <= now),
        )
        .returning(Throttle.window_started_at, Throttle.blocked_until, Throttle.locked_at)
        .dicts()
        .execute()
    )
    if not rows:
        check(key)
        raise Throttled(timedelta(seconds=1))  # the wait ended while we looked: try again
    row = rows[0]
    return Attempt(
        key,
        address,
        _datetime(row["window_started_at"]),
        _datetime(row["blocked_until"]),
        _datetime(row["locked_at"]),
    )


def _datetime(value):
    """RETURNING gives SQLite's text as it is stored."""
    return Throttle.blocked_until.python_value(value)


def fail(attempt):
    """The try was wrong: its failure stays counted, and its address counts the account.
    True when this failure locked the account."""
    if attempt.address:
        _count_address(attempt.address, attempt.key)
    return attempt.locked_at is not None


def release(attempt):
    """The try was right but the person is not in yet (a password before its one-time
    code): give back the failure counted in advance, and the wait or the lock it imposed."""
    same_window = Throttle.window_started_at == attempt.window_started_at
    Throttle.update(
        {
            Throttle.window_failures: Case(
                None,
                [(same_window & (Throttle.window_failures > 0), Throttle.window_failures - 1)],
                Throttle.window_failures,
            ),
            Throttle.consecutive_failures: Case(
                None, [(Throttle.consecutive_failures > 0, Throttle.consecutive_failures - 1)], 0
            ),
            **_lift_imposed(attempt),
        }
    ).where(Throttle.key == attempt.key).execute()


def succeed(attempt):
    """The try was right and the person is in: the run of failures of the account ends (a
    lock imposed by another try stays until unlocked). The address's count stays."""
    Throttle.update(
        {
            Throttle.consecutive_failures: 0,
            Throttle.window_failures: 0,
            Throttle.window_started_at: None,
            **_lift_imposed(attempt),
        }
    ).where(
        Throttle.key == attempt.key, Throttle.locked_at.is_null() | (Throttle.locked_at == attempt.locked_at)
    ).execute()


def _lift_imposed(attempt):
    """The wait and the lock `attempt` imposed when it was counted, if still in place."""
    changes = {}
    for column, value in (
        (Throttle.blocked_until, attempt.blocked_until),
        (Throttle.locked_at, attempt.locked_at),
    ):
        if value is not None:
            changes[column] = Case(None, [(column == value, None)], column)
    return changes


def _count_address(address, key):
    """The address counts `key` once per window; enough distinct accounts impose the wait."""
    now = clock.now()
    AddressFailure.delete().where(AddressFailure.at <= now - WINDOW).execute()
    AddressFailure.insert(address_key=address, account_key=key, at=now).on_conflict(
        conflict_target=[AddressFailure.address_key, AddressFailure.account_key],
        update={AddressFailure.at: now},
    ).execute()
    accounts = AddressFailure.select().where(AddressFailure.address_key == address).count()
    if accounts >= ADDRESS_MAX_ACCOUNTS:
        Throttle.insert(key=address).on_conflict_ignore().execute()
        Throttle.update(blocked_until=now + WAIT).where(Throttle.key == address).execute()


def unlock(*keys):
    """Helpdesk: clear these counters (exact keys) and the waits of the addresses they
    failed from in the last 15 minutes, which no longer count them; returns how many
    counters had anything to clear."""
    recent = AddressFailure.account_key.in_(keys) & (AddressFailure.at > clock.now() - WINDOW)
    with db.atomic():
        addresses = [row.address_key for row in AddressFailure.select().where(recent)]
        AddressFailure.delete().where(AddressFailure.account_key.in_(keys)).execute()
        return (
            Throttle.update(
                consecutive_failures=0,
                window_failures=0,
                window_started_at=None,
                blocked_until=None,
                locked_at=None,
            )
            .where(
                Throttle.key.in_(list(keys) + addresses),
                (Throttle.consecutive_failures > 0)
                | (Throttle.window_failures > 0)
                | Throttle.blocked_until.is_null(False)
                | Throttle.locked_at.is_null(False),
            )
            .execute()
        )


class TooManySent(DomainError):
    """A form anyone may post (contact, feedback) sent too often: not a wrong secret."""

    status = 429

    def __init__(self, retry_after):
        self.retry_after = max(int(retry_after.total_seconds()), 1)
        minutes = (self.retry_after + 59) // 60
        super().__init__(
            ngettext(
                "Vous avez envoyé ce formulaire trop souvent. Veuillez réessayer dans %(num)d minute.",
                "Vous avez envoyé ce formulaire trop souvent. Veuillez réessayer dans %(num)d minutes.",
                minutes,
            )
        )


def count_use(key, limit, window):
    """Count one use of `key` (a form sent, right or wrong), at most `limit` in a fixed
    `window`, or raise TooManySent with the wait until the window ends, counting nothing.
    The same row as failures (`window_failures` counts the uses), one conditional UPDATE:
    workers sending in parallel never count more than `limit`."""
    now = clock.now()
    Throttle.insert(key=key).on_conflict_ignore().execute()
    expired = Throttle.window_started_at.is_null() | (Throttle.window_started_at <= now - window)
    counted = (
        Throttle.update(
            window_failures=Case(None, [(expired, 1)], Throttle.window_failures + 1),
            window_started_at=Case(None, [(expired, now)], Throttle.window_started_at),
        )
        .where(Throttle.key == key, expired | (Throttle.window_failures < limit))
        .execute()
    )
    if not counted:
        started = Throttle.get(Throttle.key == key).window_started_at
        raise TooManySent(started + window - now)
