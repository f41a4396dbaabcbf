"""The agents' login rules, on the services: the second factor enrolled at
the first login, each code accepted once, people's throttling and lock (lifted by
`unlock-account --agent`), server-side sessions with people's timeouts."""

import pytest

import factories
from models import Agent, AgentSession, AuditEntry, Throttle
from services import agents, auth, crypto, throttle

IP = "10.0.0.1"


@pytest.fixture
def agent(app, clock):
    return factories.agent()


def fail_passwords(n, userid="agent.alva", ip=IP):
    for _ in range(n):
        with pytest.raises(auth.InvalidCredentials):
            agents.check_password(userid, "pas le bon mot de passe", ip)


def test_first_login_makes_a_secret_kept_encrypted_until_a_code_confirms_it(app, clock):
    factories.administration("ALVA", "Administration vétérinaire")
    with app.test_request_context():
        agents.create_agent("ALVA", "agent.alva", "Agnès Agent", "", factories.AGENT_PASSWORD)
    assert Agent.get().totp_secret_encrypted is None

    agent = agents.check_password("agent.alva", factories.AGENT_PASSWORD, IP)
    secret = agents.enrolment_secret(agent)
    assert agent.enrolled_at is None and len(secret) == 32
    assert (
        secret not in agent.totp_secret_encrypted
        and crypto.decrypt("totp", agent.totp_secret_encrypted) == secret
    )
    again = agents.check_password("agent.alva", factories.AGENT_PASSWORD, IP)
    assert agents.enrolment_secret(again) == secret  # the QR code scanned a minute ago stays right

    with pytest.raises(auth.InvalidOTP):
        agents.check_code(again, "000000", IP)
    assert Agent.get().enrolled_at is None and AgentSession.select().count() == 0

    token = agents.check_code(again, factories.otp(secret), IP)
    enrolled = Agent.get()
    assert enrolled.enrolled_at == clock.now() and agents.enrolment_secret(enrolled) is None
    assert agents.load_session(token).id == enrolled.id
    assert [e.action for e in AuditEntry.select().order_by(AuditEntry.id)][-2:] == [
        "agent.token_enrolled",
        "agent.login.success",
    ]


def test_each_code_is_accepted_once(agent, clock):
    assert agents.check_code(agent, factories.otp(), IP)
    for code in (factories.otp(), factories.otp(steps=-1)):  # the same one, or an older one
        with pytest.raises(auth.InvalidOTP):
            agents.check_code(Agent.get(), code, IP)
    assert AuditEntry.select().where(AuditEntry.action == "agent.login.otp_replay").count() == 2
    clock.advance(seconds=30)
    assert agents.check_code(Agent.get(), factories.otp(), IP)
    assert AgentSession.select().count() == 2


def test_ten_failures_in_fifteen_minutes_impose_a_fifteen_minute_wait(agent, clock):
    fail_passwords(9)
    with pytest.raises(auth.InvalidOTP):
        agents.check_code(agent, "000000", IP)  # wrong codes count with wrong passwords
    with pytest.raises(throttle.Throttled) as waited:
        agents.check_password("agent.alva", factories.AGENT_PASSWORD, "10.0.0.2")  # even the right password
    assert waited.value.retry_after == 15 * 60
    with pytest.raises(throttle.Throttled):
        agents.check_code(agent, factories.otp(), "10.0.0.2")
    clock.advance(minutes=15)
    assert agents.check_password("agent.alva", factories.AGENT_PASSWORD, "10.0.0.2")
    assert agents.check_code(agent, factories.otp(), "10.0.0.2")
    row = Throttle.get(Throttle.key == "login:agent:agent.alva")
    assert (row.consecutive_failures, row.window_failures) == (0, 0)  # the full login succeeded


def test_unknown_agents_are_throttled_the_same_way(app, clock):
    fail_passwords(10, userid="personne")
    with pytest.raises(throttle.Throttled):
        agents.check_password("personne", "n'importe quoi", "10.0.0.9")


def test_hundred_consecutive_failures_lock_until_the_helpdesk_unlocks(agent, clock, runner):
    person = factories.user("agent.alva")  # a person of the same UserID: a login of its own
    for _ in range(10):
        fail_passwords(10, ip=None)
        clock.advance(minutes=15)
    with pytest.raises(throttle.Locked):
        agents.check_password("agent.alva", factories.AGENT_PASSWORD, "10.0.0.3")
    clock.advance(days=2)
    with pytest.raises(throttle.Locked):
        agents.check_code(agent, factories.otp(), "10.0.0.3")
    assert AuditEntry.select().where(AuditEntry.action == "agent.login.locked").count() == 1
    assert auth.check_password("agent.alva", factories.PASSWORD, "10.0.0.3").id == person.id

    assert runner.invoke(args=["unlock-account", "agent.alva"]).output.startswith("Aucun blocage")
    result = runner.invoke(args=["unlock-account", "--agent", "Agent.Alva"])
    assert result.exit_code == 0 and "débloqué" in result.output
    assert AuditEntry.select().order_by(AuditEntry.id.desc()).first().details == {
        "userid": "agent.alva",
        "agent": True,
    }
    assert agents.check_password("agent.alva", factories.AGENT_PASSWORD, "10.0.0.3").id == agent.id


def test_session_idle_and_absolute_timeouts(agent, clock):
    token = agents.check_code(agent, factories.otp(), IP)
    clock.advance(minutes=29, seconds=59)
    assert agents.load_session(token).id == agent.id
    clock.advance(minutes=30)  # idle 30 min since the last request
    assert agents.load_session(token) is None

    token = agents.check_code(Agent.get(), factories.otp(), IP)
    for _ in range(24):  # active every 29 minutes, for 11 h 36
        clock.advance(minutes=29)
        assert agents.load_session(token) is not None
    clock.advance(minutes=25)  # 12 h 01 after login
    assert agents.load_session(token) is None


def test_session_token_is_stored_hashed_and_logout_revokes_it(agent, clock):
    token = agents.check_code(agent, factories.otp(), IP)
    assert AgentSession.select().where(AgentSession.token_hash == token).count() == 0
    agents.log_out(agents.load_session(token))
    assert agents.load_session(token) is None
    assert auth.load_session(token) is None  # an agent's token is no person's session either
