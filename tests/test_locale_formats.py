"""Strings built for every language: lazy validator messages, plurals through ngettext, and
numbers, amounts and dates formatted by Babel for the language of the page or of the
command line's environment."""

import datetime

import pytest
from flask import render_template_string
from flask_babel import (
    force_locale,
    format_date,
    format_datetime,
    get_locale,
    get_translations,
    gettext,
    ngettext,
)
from flask_babel.speaklater import LazyString

import factories
import validators
from app import environment_language
from services import dossier_files, languages, procedure_values, procedures

NNBSP = "\u202f"  # French groups digits with a narrow no-break space


@pytest.mark.parametrize(
    "check, value",
    [
        (validators.matricule, "123"),
        (validators.lu_rcs, "X1"),
        (validators.company_identifier, "?"),
        (validators.iban, "LU00"),
        (validators.email_address, "a@"),
        (validators.phone_number, "12"),
        (validators.vat_number, "LU1"),
    ],
)
def test_validator_messages_are_lazy_and_made_text_in_the_language_shown(app, check, value):
    with pytest.raises(validators.InvalidIdentifier) as refused:
        check(value)
    message = refused.value.args[0]
    assert isinstance(message, LazyString)
    msgid = message._args[0]
    with app.test_request_context():
        assert str(message) == msgid  # French: the message id itself
        for language in ("de", "en"):
            with force_locale(language):
                # The catalogue's msgstr when it has one (the French message id until then).
                assert str(message) == get_translations().gettext(msgid)


def test_the_rcs_message_is_one_sentence():
    with pytest.raises(validators.InvalidIdentifier) as refused:
        validators.lu_rcs("B0123")
    message = str(refused.value)
    assert message.startswith("Numéro RCS invalide : il se compose d'une lettre de section")
    assert message.endswith("par exemple B123456.")


@pytest.mark.parametrize(
    "language, number, amount, percent",
    [
        ("fr", f"1{NNBSP}234", f"1{NNBSP}234,50\xa0€", "25\xa0%"),
        ("de", "1.234", "1.234,50\xa0€", "25\xa0%"),
        ("en", "1,234", "€1,234.50", "25%"),
    ],
)
def test_filters_format_for_the_language(app, language, number, amount, percent):
    with app.test_request_context(), force_locale(language):
        assert render_template_string("{{ 1234|number }}") == number
        assert render_template_string("{{ 1234.5|currency }}") == amount
        assert render_template_string("{{ 0.25|percent }}") == percent


@pytest.mark.parametrize(
    "language, deadline, day",
    [
        ("fr", "samedi 28/03/2026 08:40", "28/03/2026"),
        ("de", "Samstag 28.03.2026 08:40", "28.03.2026"),
        ("en", "Saturday 28/03/2026 08:40", "28/03/2026"),  # British English, day first
    ],
)
def test_a_deadline_in_figures_as_the_language_writes_them(app, language, deadline, day):
    moment = datetime.datetime(2026, 3, 28, 7, 40)  # naive UTC: 08:40 in Luxembourg
    with app.test_request_context(), languages.written(language):
        assert render_template_string("{{ moment|deadline }}", moment=moment) == deadline
        assert render_template_string("{{ moment|deadline(time=False) }}", moment=moment) == day


def test_the_pager_formats_its_numbers(app):
    page = "{% from 'macros/pagination.html' import pager %}{{ pager('main.home', 1200, 12000, 10, None) }}"
    with app.test_request_context(), force_locale("de"):
        assert "1.200" in render_template_string(page)
    with app.test_request_context():
        assert f"Page 1{NNBSP}200 sur 1{NNBSP}200" in render_template_string(page)


def test_a_lists_count_is_formatted_and_agrees(app):
    count = "{{ ngettext('%(num)s dossier', '%(num)s dossiers', n, num=n|number) }}"
    with app.test_request_context():
        assert render_template_string(count, n=1) == "1 dossier"
        assert render_template_string(count, n=12345) == f"12{NNBSP}345 dossiers"
        with force_locale("de"):
            assert "12.345" in render_template_string(count, n=12345)
        with force_locale("en"):
            assert "12,345" in render_template_string(count, n=12345)


@pytest.mark.parametrize(
    "language, amount, number, date",
    [
        ("fr", f"1{NNBSP}234,50\xa0€", f"12{NNBSP}000", "5 janvier 2026"),
        ("de", "1.234,50\xa0€", "12.000", "5. Januar 2026"),
        ("en", "€1,234.50", "12,000", "January 5, 2026"),
    ],
)
def test_procedure_values_are_shown_in_the_language(app, language, amount, number, date):
    def field(type_):
        return procedures.Field.of({"name": "f", "type": type_, "label": "Champ"})

    with app.test_request_context(), force_locale(language):
        assert procedure_values.display(field("amount"), "1234.50") == amount
        assert procedure_values.display(field("number"), "12000") == number
        assert procedure_values.display(field("year"), "2026") == "2026"  # a year, not a quantity
        assert procedure_values.display(field("date"), "2026-01-05") == date
        assert procedure_values.display(field("iban"), "LU280019400644750000") == "LU28 0019 4006 4475 0000"


def test_a_list_of_file_types_ends_with_the_languages_or(app):
    with app.test_request_context():
        with pytest.raises(dossier_files.FileRefused, match="PDF, PNG ou JPEG"):
            dossier_files.checked_type(b"plain text")
        with force_locale("de"), pytest.raises(dossier_files.FileRefused, match="PDF, PNG oder JPEG"):
            dossier_files.checked_type(b"plain text")


def test_ngettext_picks_singular_or_plural(app):
    with app.test_request_context():
        assert ngettext("%(num)d tentative", "%(num)d tentatives", 1) == "1 tentative"
        assert ngettext("%(num)d tentative", "%(num)d tentatives", 3) == "3 tentatives"


@pytest.mark.parametrize(
    "environment, language",
    [
        ({"LANG": "de_DE.UTF-8"}, "de"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "c"),
        ({"LANG": "de_DE.UTF-8", "LC_ALL": "en_US.UTF-8"}, "en"),
        ({"LANG": "fr_LU.UTF-8", "LANGUAGE": "de:en"}, "de"),
        ({}, ""),
    ],
)
def test_the_environment_names_the_command_lines_language(monkeypatch, environment, language):
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert environment_language() == language


def test_outside_a_request_the_locale_follows_the_environment(app, monkeypatch):
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    with app.app_context():
        assert str(get_locale()) == "de"
    monkeypatch.setenv("LANG", "C.UTF-8")
    with app.app_context():
        assert str(get_locale()) == "fr"
    with app.test_request_context():  # in a request, the session's choice, never the server's locale
        monkeypatch.setenv("LANG", "en_GB.UTF-8")
        assert str(get_locale()) == "fr"


@pytest.mark.parametrize(
    "environment, said",
    [
        ({"LANG": "de_DE.UTF-8"}, "1.500"),
        ({"LANG": "en_GB.UTF-8"}, "1,500"),
        ({"LANG": "C.UTF-8"}, f"1{NNBSP}500"),
    ],
)
def test_the_command_line_speaks_the_environments_language(app, runner, environment, said):
    factories.user("lea")
    result = runner.invoke(
        args=["set-space-limit", "lea", "1500"], env={"LANGUAGE": "", "LC_ALL": "", **environment}
    )
    assert result.exit_code == 0, result.output
    assert said in result.output
    language = {"de": "de", "en": "en"}.get(environment["LANG"][:2], "fr")
    with app.test_request_context(), force_locale(language):  # the catalogue's sentence, once translated
        expected = gettext(
            "Limite d'espaces professionnels de %(userid)s : %(limit)s.", userid="lea", limit=said
        )
    assert result.output == expected + "\n"


def test_english_pages_write_dates_as_in_europe(app):
    """English is British English here (the "en" catalogue, Babel's en_GB): the day before
    the month and a 24-hour clock, while <html lang> says "en"."""
    from flask import session

    moment = datetime.datetime(2026, 3, 28, 7, 40)
    with app.test_request_context():
        session["lang"] = "en"
        assert str(get_locale()) == "en_GB"
        assert render_template_string("{{ m|deadline }} {{ m|date }}", m=moment) == (
            "Saturday 28/03/2026 08:40 28 Mar 2026"
        )
        assert render_template_string("{{ current_locale() }} {{ _('Connexion') }}") == "en Log in"


@pytest.mark.parametrize("locale", ["fr", "de", "en_GB", "en_US"])
def test_the_date_filters_write_what_flask_babel_writes(app, locale):
    """`date` and `datetime` (blueprints/templating.py) look the language's patterns up once;
    every hour of a year (both clock changes), a date, an aware datetime, a naive one in
    another language in the same request: Flask-Babel's strings. en_US's "h:mm a" is
    Flask-Babel's own."""
    start = datetime.datetime(2026, 1, 1, 0, 30)
    moments = [start + datetime.timedelta(hours=hours, minutes=hours % 60) for hours in range(0, 24 * 366)]
    moments += [
        datetime.datetime(2026, 3, 29, 1, 0),
        datetime.datetime(2026, 10, 25, 0, 59),
        datetime.datetime(2026, 10, 25, 1, 0),
    ]
    filters = app.jinja_env.filters
    with app.test_request_context():
        assert filters["datetime"](moments[0]) == format_datetime(moments[0], "short")  # French first
        with force_locale(locale):
            for moment in moments:
                assert filters["datetime"](moment) == format_datetime(moment, "short")
                assert filters["date"](moment) == format_date(moment)
            aware = datetime.datetime(2026, 7, 1, 23, 30, tzinfo=datetime.timezone.utc)
            assert filters["datetime"](aware) == format_datetime(aware, "short")
            assert filters["date"](aware) == format_date(aware)
            assert filters["date"](datetime.date(2026, 5, 9)) == format_date(datetime.date(2026, 5, 9))
            assert filters["date"](None) == filters["datetime"](None) == ""
        assert filters["datetime"](moments[0]) == format_datetime(moments[0], "short")
