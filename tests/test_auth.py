"""Login rules, tested on the services with a controlled clock."""

import base64
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings, strategies as st

import factories
from helpers import at_once
from models import AuditEntry, AuthProduct, Throttle, UserSession
from services import agents, auth, throttle


def product_of(user):
    return AuthProduct.get(AuthProduct.user == user)


# --- One-time codes ---------------------------------------------------------------------


def test_rfc6238_vector(app, clock):
    """RFC 6238 appendix B, SHA-1 secret "12345678901234567890", T=59 s: 94287082."""
    secret = base64.b32encode(b"12345678901234567890").decode()
    clock.set_now(datetime(1970, 1, 1, 0, 0, 59))
    assert auth.matching_step(secret, "287082") == 1


@pytest.mark.parametrize("steps, accepted", [(-2, False), (-1, True), (0, True), (1, True), (2, False)])
def test_otp_accepted_one_step_around_now(app, clock, steps, accepted):
    user = factories.user()
    assert auth.consume_otp(product_of(user), factories.otp(steps=steps)) is accepted


def test_otp_replay_is_refused_and_logged(app, clock):
    user = factories.user()
    code = factories.otp()
    assert auth.consume_otp(product_of(user), code)
    assert not auth.consume_otp(product_of(user), code)
    assert AuditEntry.select().where(AuditEntry.action == "login.otp_replay").count() == 1
    # an older code, even inside the drift window, is refused once a later one was used
    assert not auth.consume_otp(product_of(user), factories.otp(steps=-1))
    clock.advance(seconds=30)
    assert auth.consume_otp(product_of(user), factories.otp())


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", None])
def test_malformed_otp(app, clock, code):
    assert auth.matching_step(factories.TOTP_SECRET, code) is None


# --- Passwords --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password", ["short", "x" * 11, "x" * 129, "password1234", "1q2w3e4r5t6y", "lea-guichet-2"]
)
def test_weak_passwords_are_refused(app, password):
    with pytest.raises(auth.WeakPassword):
        auth.check_password_policy(password, "lea-guichet-2")


@pytest.mark.parametrize(
    "password", ["correct horse battery staple", "x" * 128, "éléphant rose du matin", "a" * 12 + "!"]
)
def test_long_uncommon_passwords_pass_without_composition_rules(app, password):
    auth.check_password_policy(password, "lea")


def test_password_hash_is_argon2id(app):
    hashed = auth.hash_password(factories.PASSWORD)
    assert hashed.startswith("$argon2id$") and factories.PASSWORD not in hashed
    assert auth.verify_password(hashed, factories.PASSWORD)
    assert not auth.verify_password(hashed, "wrong password!")


# --- Enumeration-safe answers -----------------------------------------------------------


def test_unknown_userid_and_wrong_password_answer_alike(app, clock):
    factories.user()
    with pytest.raises(auth.InvalidCredentials) as unknown:
        auth.check_password("nobody", factories.PASSWORD, "10.0.0.1")
    with pytest.raises(auth.InvalidCredentials) as wrong:
        auth.check_password("lea", "not the password", "10.0.0.1")
    assert (unknown.value.message, unknown.value.status) == (wrong.value.message, wrong.value.status)


def test_unknown_userid_gets_a_stable_made_up_image(app):
    factories.user()
    assert auth.secret_image_for("LEA") == "voilier"
    slugs = {image["slug"] for image in auth.secret_images()}
    assert auth.secret_image_for("nobody") in slugs
    assert auth.secret_image_for("nobody") == auth.secret_image_for("NoBody")


def test_userid_is_case_insensitive(app, clock):
    factories.user(userid="Lea")
    assert auth.check_password("LEA", factories.PASSWORD, "10.0.0.1").userid == "Lea"


# --- Throttling -------------------------------------------------------------------------


def fail_password(n, userid="lea", ip="10.0.0.1"):
    for _ in range(n):
        with pytest.raises(auth.InvalidCredentials):
            auth.check_password(userid, "not the password", ip)


def test_ten_failures_in_fifteen_minutes_impose_a_fifteen_minute_wait(app, clock):
    factories.user()
    fail_password(9)
    assert auth.check_password("lea", factories.PASSWORD, "10.0.0.1")  # the 9th did not block
    fail_password(1)
    with pytest.raises(throttle.Throttled) as waited:
        auth.check_password("lea", factories.PASSWORD, "10.0.0.2")  # even the right password
    assert waited.value.retry_after == 15 * 60 and waited.value.status == 429
    clock.advance(minutes=14, seconds=59)
    with pytest.raises(throttle.Throttled):
        auth.check_password("lea", factories.PASSWORD, "10.0.0.2")
    clock.advance(seconds=1)
    assert auth.check_password("lea", factories.PASSWORD, "10.0.0.2")


def test_failures_spread_over_more_than_fifteen_minutes_do_not_block(app, clock):
    factories.user()
    fail_password(9)
    clock.advance(minutes=16)
    fail_password(9)
    assert auth.check_password("lea", factories.PASSWORD, "10.0.0.1")


def test_unknown_userids_are_throttled_the_same_way(app, clock):
    fail_password(10, userid="nobody")
    with pytest.raises(throttle.Throttled):
        auth.check_password("nobody", "anything at all", "10.0.0.9")


def test_client_address_is_throttled_across_accounts(app, clock):
    """Passwords sprayed over 100 UserIDs from one address make the address wait."""
    for i in range(99):
        fail_password(1, userid=f"someone{i}", ip="10.0.0.66")
    factories.user()
    assert auth.check_password("lea", factories.PASSWORD, "10.0.0.66")  # 99 accounts: not yet
    fail_password(1, userid="someone99", ip="10.0.0.66")
    with pytest.raises(throttle.Throttled) as waited:
        auth.check_password("lea", factories.PASSWORD, "10.0.0.66")
    assert waited.value.retry_after == 15 * 60
    assert auth.check_password("lea", factories.PASSWORD, "10.0.0.67")
    clock.advance(minutes=15)
    assert auth.check_password("lea", factories.PASSWORD, "10.0.0.66")


def test_hundred_consecutive_failures_lock_until_the_helpdesk_unlocks(app, clock, runner):
    user = factories.user()
    for _ in range(10):
        fail_password(10, ip=None)
        clock.advance(minutes=15)
    with pytest.raises(throttle.Locked) as locked:
        auth.check_password("lea", factories.PASSWORD, "10.0.0.3")
    assert locked.value.status == 423
    clock.advance(days=2)
    with pytest.raises(throttle.Locked):
        auth.check_otp(user, factories.otp(), "10.0.0.3")
    assert AuditEntry.select().where(AuditEntry.action == "login.locked").count() == 1
    result = runner.invoke(args=["unlock-account", "LEA"])
    assert result.exit_code == 0 and "débloqué" in result.output
    assert auth.check_password("lea", factories.PASSWORD, "10.0.0.3")


def test_success_resets_the_consecutive_count(app, clock):
    user = factories.user()
    fail_password(9)
    auth.check_otp(user, factories.otp(), "10.0.0.1")
    row = Throttle.get(Throttle.key == "login:user:lea")
    assert row.consecutive_failures == 0 and row.window_failures == 0


def test_wrong_otps_count_like_wrong_passwords(app, clock):
    user = factories.user()
    for _ in range(10):
        with pytest.raises(auth.InvalidOTP):
            auth.check_otp(user, "000000", "10.0.0.1")
    with pytest.raises(throttle.Throttled):
        auth.check_otp(user, factories.otp(), "10.0.0.1")


def test_one_persons_typos_do_not_block_the_others_at_the_same_address(app, clock):
    factories.user()
    factories.user("tom")
    fail_password(10, ip="10.0.0.66")
    with pytest.raises(throttle.Throttled):
        auth.check_password("lea", factories.PASSWORD, "10.0.0.66")
    assert auth.check_password("tom", factories.PASSWORD, "10.0.0.66").userid == "tom"


def test_unlock_account_lifts_everything_that_blocks_the_account(app, clock, runner):
    """Its waits and lock, its code entry, and the address it failed from, which no longer
    counts it."""
    user = factories.user()
    fail_password(10, ip="10.0.0.66")  # the account waits
    for i in range(99):  # and the address, with 100 accounts
        fail_password(1, userid=f"someone{i}", ip="10.0.0.66")
    key = auth.code_entry_key(user)
    for _ in range(10):
        throttle.fail(throttle.reserve(key))
    with pytest.raises(throttle.Throttled):
        throttle.check("login:ip:10.0.0.66", key)
    result = runner.invoke(args=["unlock-account", "lea"])
    assert result.exit_code == 0 and "débloqué" in result.output
    assert auth.check_password("lea", factories.PASSWORD, "10.0.0.66")
    throttle.check(key)
    fail_password(1, userid="someone-else", ip="10.0.0.66")  # 100 accounts again
    with pytest.raises(throttle.Throttled):
        auth.check_password("lea", factories.PASSWORD, "10.0.0.66")


def test_a_success_clears_only_the_accounts_counter(app, clock):
    """An address spraying passwords over many UserIDs gains nothing by logging into its own
    account between batches."""
    user = factories.user()
    for batch in range(4):
        for i in range(25):
            fail_password(1, userid=f"sprayed{batch}-{i}", ip="10.0.0.66")
        if batch < 3:
            auth.check_password("lea", factories.PASSWORD, "10.0.0.66")
            auth.check_otp(user, factories.otp(), "10.0.0.66")
            clock.advance(seconds=30)
    with pytest.raises(throttle.Throttled):
        auth.check_password("lea", factories.PASSWORD, "10.0.0.66")


def test_the_wait_is_told_in_minutes_singular_or_plural(app):
    assert throttle.Throttled(timedelta(minutes=15)).message.endswith("réessayer dans 15 minutes.")
    assert throttle.Throttled(timedelta(seconds=30)).message.endswith("réessayer dans 1 minute.")
    assert throttle.Throttled(timedelta(seconds=61)).message.endswith("réessayer dans 2 minutes.")


def test_forty_wrong_passwords_at_once_check_only_ten(app, clock, monkeypatch):
    """Each try is counted before the password is checked, in one statement: 40 requests in
    parallel, in as many connections, check 10 passwords and the others wait."""
    factories.user()
    checked = []
    verify = auth.verify_password

    def counting_verify(password_hash, password):
        checked.append(password)
        return verify(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting_verify)
    outcomes = at_once(app, [lambda: auth.check_password("lea", "not the password", "10.0.0.1")] * 40)
    assert len(checked) == 10
    assert sorted(type(o).__name__ for o in outcomes) == ["InvalidCredentials"] * 10 + ["Throttled"] * 30
    row = Throttle.get(Throttle.key == "login:user:lea")
    assert (row.window_failures, row.consecutive_failures, row.blocked_until) == (
        10,
        10,
        clock.now() + throttle.WAIT,
    )


def test_a_right_password_gives_its_try_back(app, clock):
    """The 10th and the 100th try, counted in advance, impose nothing when they were right."""
    user = factories.user()
    fail_password(9)
    auth.check_password("lea", factories.PASSWORD, "10.0.0.1")
    row = Throttle.get(Throttle.key == "login:user:lea")
    assert (row.window_failures, row.consecutive_failures, row.blocked_until) == (9, 9, None)
    fail_password(1, ip="10.0.0.2")
    with pytest.raises(throttle.Throttled):
        auth.check_password("lea", factories.PASSWORD, "10.0.0.1")
    for waits in range(9):
        clock.advance(minutes=15)
        fail_password(10 if waits < 8 else 9)
    assert Throttle.get(Throttle.key == "login:user:lea").consecutive_failures == 99
    clock.advance(minutes=15)
    auth.check_otp(user, factories.otp(), "10.0.0.1")  # the 100th in a row, right: no lock
    row = Throttle.get(Throttle.key == "login:user:lea")
    assert (row.consecutive_failures, row.locked_at, row.blocked_until) == (0, None, None)


def test_account_page_password_check_is_throttled_and_audited(app, clock):
    user = factories.user()
    here = auth.open_session(user, "10.0.0.1")
    for _ in range(10):
        with pytest.raises(auth.InvalidCredentials):
            auth.change_password(user, "wrong password!", "a brand new passphrase", here, "10.0.0.1")
    with pytest.raises(throttle.Throttled):
        auth.change_password(user, factories.PASSWORD, "a brand new passphrase", here, "10.0.0.1")
    assert AuditEntry.select().where(AuditEntry.action == "account.password_change_failure").count() == 10
    with pytest.raises(throttle.Throttled):  # the same counter as the login's
        auth.check_password("lea", factories.PASSWORD, "10.0.0.2")
    clock.advance(minutes=15)
    auth.change_password(user, factories.PASSWORD, "a brand new passphrase", here, "10.0.0.1")
    assert auth.check_password("lea", "a brand new passphrase", "10.0.0.2")


# --- Sessions ---------------------------------------------------------------------------


def test_session_idle_and_absolute_timeouts(app, clock):
    user = factories.user()
    token = auth.open_session(user, "10.0.0.1")
    clock.advance(minutes=29, seconds=59)
    assert auth.load_session(token).id == user.id
    clock.advance(minutes=30)  # idle 30 min since the last request
    assert auth.load_session(token) is None

    token = auth.open_session(user, "10.0.0.1")
    for _ in range(24):  # active every 29 minutes, for 11 h 36
        clock.advance(minutes=29)
        assert auth.load_session(token) is not None
    clock.advance(minutes=25)  # 12 h 01 after login
    assert auth.load_session(token) is None


def test_session_token_is_stored_hashed_and_revocable(app, clock):
    user = factories.user()
    token = auth.open_session(user, "10.0.0.1")
    assert UserSession.select().where(UserSession.token_hash == token).count() == 0
    auth.revoke_session(token)
    assert auth.load_session(token) is None


def test_the_one_time_code_must_follow_the_password_within_five_minutes(app, clock):
    """People and agents alike: the login keeps whose password was accepted and when."""
    for account, accounts in ((factories.user(), auth.PEOPLE), (factories.agent(), agents.AGENTS)):
        step = auth.password_accepted(account)
        clock.advance(minutes=5)
        assert auth.pending_login(step, accounts) == account
        clock.advance(seconds=1)
        assert auth.pending_login(step, accounts) is None
    assert auth.pending_login(None) is None and auth.pending_login({"at": clock.timestamp()}) is None


def test_password_change_revokes_other_sessions(app, clock):
    user = factories.user()
    here, elsewhere = auth.open_session(user, "10.0.0.1"), auth.open_session(user, "10.0.0.2")
    with pytest.raises(auth.InvalidCredentials):
        auth.change_password(user, "wrong password!", "a brand new passphrase", here, "10.0.0.1")
    auth.change_password(user, factories.PASSWORD, "a brand new passphrase", here, "10.0.0.1")
    assert auth.load_session(here) is not None and auth.load_session(elsewhere) is None
    assert auth.check_password("lea", "a brand new passphrase", "10.0.0.1")


@settings(max_examples=25, deadline=None)
@given(st.text(min_size=12, max_size=128).filter(lambda p: p.lower() not in auth.common_passwords()))
def test_any_long_uncommon_password_is_accepted(password):
    from app import create_app

    with create_app({"ESPACE_ENV": "test", "DATABASE_URL": "sqlite:///:memory:"}).app_context():
        auth.check_password_policy(password)
