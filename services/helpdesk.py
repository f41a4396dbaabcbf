"""Comptes et espaces, the helpdesk's: a person found by UserID (exactly) with the limit of
professional spaces of their Token and whether their login is locked; the limit set;
people's and agents' accounts unlocked; the spaces deleted less than 30 days ago, restored.
Each change is audited (`helpdesk.*`), the helpdesk agent as its actor."""

from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from peewee import JOIN

import clock
from database import PAGE_SIZE
from models import Agent, AuthProduct, Space, Throttle, User
from services import DomainError, agents, audit, auth, spaces

MAX_SPACE_LIMIT = 100_000


class PersonNotFound(DomainError):
    status = 404
    message = _l(
        "Aucune personne n'a cet identifiant (UserID). Il est cherché tel quel, "
        "sans tenir compte des majuscules."
    )


class AgentNotFound(DomainError):
    status = 404
    message = _l("Aucun agent n'a cet identifiant.")


class SpaceLimitOutOfRange(DomainError):
    status = 422
    message = _l("La limite est un nombre entier de 0 à 100 000.")


class LoginState(NamedTuple):
    """Where an account's login stands: locked (until the helpdesk unlocks it), or waiting
    (until `until`, after 10 wrong tries in 15 minutes), or neither."""

    locked: bool
    until: object  # datetime or None

    @property
    def blocked(self):
        return self.locked or self.until is not None


class Person(NamedTuple):
    user: User
    product: AuthProduct | None  # their Token (or impots product), whose limit is set
    spaces_created: int  # live professional spaces created through it
    login: LoginState


def login_state(*keys):
    """The state of the throttle counters `keys` (one query)."""
    now = clock.now()
    rows = list(Throttle.select().where(Throttle.key.in_(keys)))
    waits = [row.blocked_until for row in rows if row.blocked_until and row.blocked_until > now]
    return LoginState(any(row.locked_at for row in rows), max(waits) if waits else None)


def find_person(userid):
    """The person whose UserID (an impots account's: its e-mail) is `userid` (case aside),
    with their product and login state."""
    user = User.get_or_none(User.userid_key == auth.userid_key((userid or "").strip()))
    if user is None:
        raise PersonNotFound()
    product = auth.product_of(user)
    count = spaces.professional_spaces_created(product) if product else 0
    return Person(
        user,
        product,
        count,
        login_state(auth.login_key(user.userid, auth.accounts_of(user)), auth.code_entry_key(user)),
    )


def set_space_limit(actor, userid, limit):
    if limit is None or not 0 <= limit <= MAX_SPACE_LIMIT:
        raise SpaceLimitOutOfRange()
    person = find_person(userid)
    if person.product is None:
        raise PersonNotFound()
    spaces.set_space_limit(person.user.userid, limit, actor=actor)
    return find_person(userid)


def unlock_person(actor, userid):
    """Lift what keeps the person out (login and access-code entry): returns whether
    anything did."""
    person = find_person(userid)
    was_blocked = person.login.blocked
    cleared = auth.unlock(person.user.userid)
    audit.record(
        "helpdesk.unlock_account", actor=actor, userid=person.user.userid, agent=False, cleared=cleared
    )
    return was_blocked or bool(cleared)


def unlock_agent(actor, userid):
    """The same for an agent's back-office login; returns whether it was blocked."""
    agent = Agent.get_or_none(Agent.userid_key == auth.userid_key((userid or "").strip()))
    if agent is None:
        raise AgentNotFound()
    was_blocked = login_state(auth.login_key(agent.userid, agents.AGENTS)).blocked
    cleared = agents.unlock(agent.userid)
    audit.record("helpdesk.unlock_account", actor=actor, userid=agent.userid, agent=True, cleared=cleared)
    return agent, was_blocked or bool(cleared)


def deleted_spaces(page, per_page=PAGE_SIZE):
    """The spaces deleted less than 30 days ago, the latest first, with who deleted them
    (two queries); each with `restorable_until`."""
    deleter = User.alias()
    select = (
        Space.select(Space, deleter)
        .join(deleter, JOIN.LEFT_OUTER, on=(Space.deleted_by == deleter.id))
        .where(Space.deleted_at >= clock.now() - spaces.DELETED_RETENTION)
        .order_by(Space.deleted_at.desc(), Space.id.desc())
    )
    rows = list(select.paginate(max(page, 1), per_page))
    for row in rows:
        row.restorable_until = row.deleted_at + spaces.DELETED_RETENTION
    return rows, select.count()


# Why a deleted space cannot be restored (services/spaces.py `restore_space`).
RESTORE_REFUSALS = (
    spaces.NoDeletedSpace,
    spaces.DeletedTooLongAgo,
    spaces.RestoreOverLimit,
    spaces.PrivateSpaceReplaced,
)


def restore_space(actor, space_id):
    return spaces.restore_space(space_id, actor=actor)
