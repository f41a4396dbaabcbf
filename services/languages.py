"""The texts of the data in the page's language. French is the columns and the definitions'
texts themselves; German and English are beside them: a `translations` column on the
catalogue's rows (`{"de": {"name": ...}, "en": {...}}`), a `translations` table in a
procedure's definition (`{"de": {"<French text>": "<German>"}, "en": {...}}`)."""

from flask_babel import get_locale

FRENCH = "fr"
LANGUAGES = ("fr", "de", "en")
# The languages a text of the data must be given in beside French.
OTHER_LANGUAGES = ("de", "en")


def current_language():
    """The language of the current request, or of `force_locale`; French outside both."""
    locale = get_locale()
    return locale.language if locale is not None else FRENCH


def procedure_text(definition, text, language=None):
    """A text of a procedure's definition (the French, its id) in `language` (the current one
    by default); the French when the definition does not translate it."""
    language = language or current_language()
    if language == FRENCH or not text:
        return text
    return (definition or {}).get("translations", {}).get(language, {}).get(text) or text


def localized(row, field, language=None):
    """The `field` of an administration, a service or a news item (a procedure's title too)
    in `language` (the current one by default), or its French column. The translations are a
    column of the row already loaded: no query."""
    french = getattr(row, field)
    language = language or current_language()
    if language == FRENCH:
        return french
    if hasattr(row, "definition"):  # a procedure: its definition's table, keyed by the French
        return procedure_text(row.definition, french, language)
    return (row.translations or {}).get(language, {}).get(field) or french
