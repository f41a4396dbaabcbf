"""The session cookie across a login or a logout."""

from flask import session


def fresh_session(**values):
    """A new session (at login and at logout): nothing of the previous one survives, so
    nothing planted before the login rides along, except the language the person chose.
    `values` are put in the new session."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    session.update(values)
