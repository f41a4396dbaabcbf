"""The session cookie across a login or a logout, and the language it keeps."""

from flask import session
from flask_babel import get_locale

from services import languages


def fresh_session(**values):
    """A new session (at login and at logout): nothing of the previous one survives, so
    nothing planted before the login rides along, except the language the person chose.
    `values` are put in the new session."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    session.update(values)


def page_language():
    """The language of the page being answered (the session's choice, else French)."""
    return str(get_locale())


def adopt_language(account):
    """At a login: the language chosen before it (FR / DE / EN) is kept and stored on the
    account; without a choice, the account's language becomes the session's."""
    language = languages.at_login(account, session.get("lang"))
    if language:
        session["lang"] = language
