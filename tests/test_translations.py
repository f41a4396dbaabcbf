"""The German and English catalogues are complete: every message the code and templates say
(extracted now, as `make messages` does) is translated, not fuzzy, with the msgid's
placeholders and every plural form; and the compiled .mo are the .po's."""

import pytest
from babel.messages.catalog import Catalog

from catalogues import (
    LANGUAGES,
    compile_stale_catalogues,
    compiled,
    extract_messages,
    po_path,
    problems,
    read_catalogue,
    translated_french,
)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    return extract_messages(tmp_path_factory.mktemp("messages"))


def test_the_extraction_finds_the_code_and_the_templates(extracted):
    assert "Gérer mes espaces" in extracted  # a template
    assert "Veuillez vous connecter pour accéder à cette page." in extracted  # Python, lazy_gettext
    assert "Aller au contenu" in extracted  # base.html
    assert not any("tests/" in location for message in extracted for location, _ in message.locations)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogue_translates_every_message(extracted, language):
    found = problems(extracted, read_catalogue(po_path(language)))
    if found:
        heading = f"{po_path(language)}: {len(found)} to fix (make messages, then translate):"
        pytest.fail("\n".join([heading, *found]))


def _catalogue(*messages):
    catalogue = Catalog(locale="de")
    for msgid, string, *flags in messages:
        catalogue.add(msgid, string, flags=flags)
    return catalogue


def test_problems_names_missing_empty_fuzzy_plural_and_placeholder_entries():
    template = _catalogue(
        ("Connexion", ""),
        ("Suivant", ""),
        ("Retour", ""),
        ("Bonjour %(name)s", ""),
        (("%(num)d espace", "%(num)d espaces"), ("", "")),
        ("Annuler", ""),
        ("Fermer", ""),
    )
    catalogue = _catalogue(
        ("Suivant", "Weiter", "fuzzy"),
        ("Retour", ""),
        ("Bonjour %(name)s", "Hallo %(nom)s"),
        (("%(num)d espace", "%(num)d espaces"), ("%(num)d Bereich", "")),
        ("Annuler", "Abbrechen"),
    )
    assert problems(template, catalogue) == [
        "missing: 'Connexion'",
        "fuzzy: 'Suivant'",
        "empty: 'Retour'",
        "unknown named placeholder 'nom': 'Bonjour %(name)s'",
        "a plural form empty: '%(num)d espace'",
        "missing: 'Fermer'",
    ]


def test_french_ids_to_look_for_are_the_translated_ones(tmp_path, monkeypatch):
    po = tmp_path / "de" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: de\\n"\n\n'
        'msgid "Connexion"\nmsgstr "Anmeldung"\n\n'
        'msgid "UserID"\nmsgstr "UserID"\n\n'
        'msgid "Retour"\nmsgstr ""\n',
        encoding="utf-8",
    )
    monkeypatch.setattr("catalogues.TRANSLATIONS", tmp_path)
    assert translated_french("de") == {"Connexion", "Retour"}


def test_the_compiled_catalogues_are_the_po_files():
    compile_stale_catalogues()  # as `make translations`, when a .po changed since
    for language in LANGUAGES:
        po = po_path(language)
        assert po.with_suffix(".mo").read_bytes() == compiled(read_catalogue(po)), language
