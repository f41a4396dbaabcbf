"""Languages. The people: a person's and an agent's chosen language is kept on their account
(FR / DE / EN); their mails and letters are written in it, whatever the language of the
request that causes them, and someone without an account in the language of the page that
asked for it. The data: French is the columns and the definitions' texts themselves; German
and English are beside them: a `translations` column on the catalogue's rows (`{"de":
{"name": ...}, "en": {...}}`), a `translations` table in a procedure's definition (`{"de":
{"<French text>": "<German>"}, "en": {...}}`)."""

from flask import current_app, g
from flask_babel import force_locale, format_date, get_locale
from flask_babel.speaklater import LazyString
from peewee import fn

from models import User

LANGUAGES = ("fr", "de", "en")
DEFAULT = "fr"  # an account whose language was never chosen ("") is written to in French


def of(account):
    """The language `account` (a User or an Agent) is written to in."""
    return (account.language if account is not None else "") or DEFAULT


# The locale each language is written in: English as written in Europe (dates day first, a
# 24-hour clock), not Babel's "en", which is American; its messages are the "en" catalogue's.
LOCALES = {"fr": "fr", "de": "de", "en": "en_GB"}


def locale_of(language):
    """The Babel locale of `language` (fr, de, en)."""
    return LOCALES.get(language, language)


def written(language):
    """`force_locale` for a mail's or a letter's `language`."""
    return force_locale(locale_of(checked(language)))


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
    with written(language):
        return str(text)


def lazy_format(text, **values):
    """`text` (a lazy string with %(name)s placeholders) filled in with `values` when it is
    read, so in the language it is read in."""
    return LazyString(lambda: str(text) % values)


# Dates inside a mail's or a letter's text: formatted when the text is, in its language.
def lazy_date(value, format="long"):
    return LazyString(format_date, value, format)


# --- The data's texts ---------------------------------------------------------------

# The languages a text of the data must be given in beside French (config.LANGUAGES's others).
OTHER_LANGUAGES = ("de", "en")


def per_language(name, make):
    """`make()` kept as `name` on Flask-Babel's context for the request and made again when
    the language or the time zone changes (force_locale): what a page's dates, messages and
    data texts ask for hundreds of times (each `get_locale` resolves the context through
    LocalProxies). Outside an application context: made at each call."""
    try:
        context = g._flask_babel
    except (AttributeError, RuntimeError):  # no language chosen yet, or no app context
        return make()
    cached = getattr(context, name, None)
    if (
        cached is not None
        and cached[0] is getattr(context, "babel_locale", None)
        and cached[1] is getattr(context, "babel_tzinfo", None)
    ):
        return cached[2]
    made = make()  # (which may choose the language: read the context after it)
    setattr(
        context, name, (getattr(context, "babel_locale", None), getattr(context, "babel_tzinfo", None), made)
    )
    return made


def current_language():
    """The language of the current request, or of `force_locale`; French outside both."""
    return per_language("current_language", _current_language)


def _current_language():
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT


def data_text(translations, text, language=None):
    """A text of a data file (the French, its id) in `language` (the current one by default),
    from the file's `translations` table; the French when the table does not translate it."""
    language = language or current_language()
    if language == DEFAULT or not text:
        return text
    return (translations or {}).get(language, {}).get(text) or text


def procedure_text(definition, text, language=None):
    """A text of a procedure's definition, by the definition's `translations` table."""
    return data_text((definition or {}).get("translations"), text, language)


def localized(row, field, language=None):
    """The `field` of an administration, a service or a news item (a procedure's title too)
    in `language` (the current one by default), or its French column. The translations are a
    column of the row already loaded: no query."""
    french = getattr(row, field)
    language = language or current_language()
    if language == DEFAULT:
        return french
    if hasattr(row, "definition"):  # a procedure: its definition's table, keyed by the French
        return procedure_text(row.definition, french, language)
    return (row.translations or {}).get(language, {}).get(field) or french


def localized_entry(entry, field, language=None):
    """`localized` for an entry of a data file (a dict with its own `translations`)."""
    language = language or current_language()
    return (entry.get("translations") or {}).get(language, {}).get(field) or entry[field]


def lazy_localized(row, field):
    """`localized(row, field)` read when the text is, so in a mail's or a letter's language."""
    return LazyString(localized, row, field)


def lazy_list(rows, field):
    """The rows' `field`, localized and joined with commas, read when the text is."""
    return LazyString(lambda: ", ".join(localized(row, field) for row in rows))
