"""The language people are written to in: a person's and an agent's chosen language is kept
on their account (FR / DE / EN); their mails and letters are written in it, whatever the
language of the request that causes them. Someone without an account is written to in the
language of the page that asked for it."""

from flask import current_app
from flask_babel import force_locale, format_date, format_datetime
from flask_babel.speaklater import LazyString
from peewee import fn

from models import User

DEFAULT = "fr"  # an account whose language was never chosen ("") is written to in French


def of(account):
    """The language `account` (a User or an Agent) is written to in."""
    return (account.language if account is not None else "") or DEFAULT


def checked(language):
    """`language` if the portal speaks it, else French."""
    return language if language in current_app.config["LANGUAGES"] else DEFAULT


def for_email(email, fallback):
    """The language of the account that has the address `email`, else `fallback` (the
    language of the page that asked for the mail)."""
    account = (
        User.select(User.language)
        .where(fn.LOWER(User.email) == (email or "").lower(), User.language != "")
        .order_by(User.id)
        .first()
    )
    return account.language if account else checked(fallback)


def choose(account, language):
    """FR / DE / EN while logged in: the account keeps the choice."""
    language = checked(language)
    type(account).update(language=language).where(type(account).id == account.id).execute()
    account.language = language
    return language


def choose_for_session(user, agent, language):
    """FR / DE / EN: the person and the back-office agent logged in on the session (None when
    not) keep the choice on their accounts."""
    for account in (user, agent):
        if account is not None:
            choose(account, language)


def at_login(account, chosen):
    """The session's language once `account` logs in: the one chosen before the login
    (`chosen`, None when none was), which the account keeps from now on, else the account's
    own (None when it never chose one: the portal's default)."""
    if chosen:
        return choose(account, chosen)
    return account.language or None


def written_in(language, text):
    """`text` (a lazy string, or a plain one) as it reads in `language`."""
    with force_locale(checked(language)):
        return str(text)


def lazy_format(text, **values):
    """`text` (a lazy string with %(name)s placeholders) filled in with `values` when it is
    read, so in the language it is read in."""
    return LazyString(lambda: str(text) % values)


# Dates inside a mail's or a letter's text: formatted when the text is, in its language.
def lazy_date(value, format="long"):
    return LazyString(format_date, value, format)


def lazy_datetime(value, format="medium"):
    return LazyString(format_datetime, value, format)
