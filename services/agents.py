"""Agents of the administrations (created by `flask create-agent`) and their login to the
back-office: a password, then a one-time code from an authenticator app enrolled
at the first login, under people's rules (services/auth.py with `AGENTS`): the same
throttling, each code accepted once, server-side sessions (30 min idle, 12 h absolute,
revoked at logout). An agent certifies companies: no way in without both.

Until the first code is confirmed, the secret waits encrypted on the agent's row (never in
the cookie); the agent between the two steps has no session and opens no back-office page.
"""

from flask_babel import lazy_gettext as _l
from peewee import JOIN, IntegrityError

import clock
from models import AGENT_ROLES, Administration, Agent, AgentSession, db
from services import DomainError, audit, auth, crypto, throttle


class UnknownAdministration(DomainError):
    def __init__(self, code):
        super().__init__(_l("Administration inconnue : %(code)s.", code=code))


class AgentExists(DomainError):
    message = _l("Cet identifiant d'agent existe déjà.")


class UnknownRole(DomainError):
    message = _l("Le rôle d'un agent est agent (d'une administration) ou helpdesk (sans administration).")


def _agents():
    return Agent.select(Agent, Administration).join(Administration, JOIN.LEFT_OUTER)


def _agent_of_userid(key):
    return _agents().where(Agent.userid_key == key).first()


AGENTS = auth.Accounts(
    "agent",
    "agent.login",
    AgentSession,
    credential=_agent_of_userid,
    credential_of=lambda agent: agent,
    owner=lambda agent: agent,
    related=(Administration,),
)


def create_agent(administration_code, userid, name, email, password, role="agent"):
    """An agent of an administration, or the helpdesk (`role`, then no administration), to
    enrol at the first login (flask create-agent)."""
    if role not in AGENT_ROLES or (role == "helpdesk") != (administration_code is None):
        raise UnknownRole()
    administration = None
    if role == "agent":
        administration = Administration.get_or_none(Administration.code == administration_code)
        if administration is None:
            raise UnknownAdministration(administration_code)
    auth.check_password_policy(password, userid)
    try:
        with db.atomic():
            agent = Agent.create(
                administration=administration,
                role=role,
                userid=userid,
                userid_key=auth.userid_key(userid),
                name=name,
                email=email,
                password_hash=auth.hash_password(password),
            )
            audit.record("agent.created", administration=administration_code, userid=userid, role=role)
    except IntegrityError:
        raise AgentExists() from None
    return agent


def check_password(userid, password, ip):
    """Step 1: the agent's password (refusals as for people). At the first login the agent
    also gets the secret to enrol, kept encrypted on its row until a code confirms it."""
    agent = auth.check_password(userid, password, ip, AGENTS)
    if agent.totp_secret_encrypted is None:
        Agent.update(totp_secret_encrypted=crypto.encrypt("totp", auth.new_totp_secret())).where(
            Agent.id == agent.id, Agent.totp_secret_encrypted.is_null()
        ).execute()
        agent = _agent_of_userid(agent.userid_key)
    return agent


def enrolment_secret(agent):
    """The secret to show (QR code and text) until the agent confirms it; None after: an
    enrolled secret is never shown again."""
    return auth.totp_secret(agent) if agent.enrolled_at is None else None


def check_code(agent, code, ip):
    """Step 2: the one-time code (at the first login, the code that confirms the enrolment).
    Opens the agent's session and returns its token for the cookie."""
    auth.check_otp(agent, code, ip, AGENTS)  # outside the transaction: failures must count
    with db.atomic():
        if agent.enrolled_at is None:
            enrolled = (
                Agent.update(enrolled_at=clock.now())
                .where(Agent.id == agent.id, Agent.enrolled_at.is_null())
                .execute()
            )
            if enrolled:
                audit.record("agent.token_enrolled", actor=agent)
        return auth.open_session(agent, ip, AGENTS)


def load_session(token):
    """The Agent of a live back-office session, or None."""
    return auth.load_session(token, AGENTS)


def log_out(agent):
    auth.revoke_session(agent.session_token, AGENTS)
    audit.record("agent.logout", actor=agent)


def unlock(userid):
    """Helpdesk: lift the wait and the lock of an agent's login (exact key)."""
    return throttle.unlock(auth.login_key(userid, AGENTS))
