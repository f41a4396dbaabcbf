"""The data's texts in French, German and English: the catalogue's and the news' translations
as seed-demo stores and completes them, the `localized` lookup, a procedure definition's
texts in the page's language (the typed view, the dossier's sections), the definitions'
check refusing a missing translation, and pages in German and English."""

import html
import json

import pytest
from flask_babel import force_locale

import factories
from helpers import csrf_token, log_in
from models import Administration, NewsItem, Procedure, Service
from services import dossier_data, languages, procedures
from services.languages import localized, procedure_text

ACD = "acd-fiches-retenue"
CATALOGUE = json.loads(open("data/catalogue.json", encoding="utf-8").read())
FILE_SERVICES = {svc["slug"]: svc for adm in CATALOGUE["administrations"] for svc in adm["services"]}


def text(response):
    return html.unescape(response.get_data(as_text=True))


# --- The catalogue and the news ------------------------------------------------------------------


def test_every_text_of_the_catalogue_file_is_given_in_german_and_english():
    def complete(entry, fields):
        return all(
            entry["translations"][language].get(field) for language in ("de", "en") for field in fields
        )

    for adm in CATALOGUE["administrations"]:
        assert complete(adm, ("name", "certification_text")), adm["code"]
        assert all(complete(svc, ("name", "description")) for svc in adm["services"]), adm["code"]
    assert all(complete(item, ("title",)) for item in CATALOGUE["news"])


def test_seed_demo_stores_the_translations_and_completes_those_a_database_lacks(runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    fiches = Service.get(slug="fiches-retenue")
    assert fiches.translations == FILE_SERVICES["fiches-retenue"]["translations"]
    assert fiches.translations["de"]["name"] == "Lohnsteuerkarten"
    acd = Administration.get(code="ACD")
    assert acd.translations["en"]["certification_text"].startswith("For tax withholding cards")
    news = NewsItem.get(NewsItem.title == "Élections sociales 2026 : les démarches en ligne sont ouvertes")
    assert news.translations["de"] == {"title": "Sozialwahlen 2026: Die Online-Verfahren sind geöffnet"}

    # A database seeded before the translations, and a German name the helpdesk typed since.
    Service.update(translations={}).execute()
    NewsItem.update(translations={}).execute()
    Administration.update(translations={"de": {"name": "ACD (vom Helpdesk)"}}).where(
        Administration.code == "ACD"
    ).execute()
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "éléments ajoutés : 0" in again.output
    assert all(
        service.translations == FILE_SERVICES[service.slug]["translations"] for service in Service.select()
    )
    assert all(item.translations["en"]["title"] for item in NewsItem.select())
    acd = Administration.get(code="ACD")
    assert acd.translations["de"]["name"] == "ACD (vom Helpdesk)"  # what is there stays
    assert acd.translations["de"]["certification_text"].startswith("Für Lohnsteuerkarten")
    assert acd.translations["en"]["name"] == "Direct Tax Administration"


def test_localized_gives_the_text_of_the_language_or_the_french(app):
    factories.demo_procedures()
    fiches = Service.get(slug="fiches-retenue")
    procedure = Procedure.get(Procedure.slug == ACD)
    with app.test_request_context():
        assert localized(fiches, "name") == "Fiches de retenue d'impôt"
        with force_locale("de"):
            assert localized(fiches, "name") == "Lohnsteuerkarten"
            assert localized(fiches, "description") == "Die Lohnsteuerkarten der Beschäftigten einsehen."
            assert localized(procedure, "title") == "Lohnsteuerkarten: Antrag auf Ausstellung"
            assert localized(fiches, "name", "fr") == "Fiches de retenue d'impôt"
        with force_locale("en"):
            assert localized(fiches, "name") == "Tax withholding cards"
            assert localized(fiches.administration, "name") == "Direct Tax Administration"
            assert localized(procedure, "title") == "Tax withholding cards: request for cards"
            # A row (or a text) without its translation shows its French.
            untranslated = factories.service(fiches.administration, slug="autre", name="Autre service")
            assert localized(untranslated, "name") == "Autre service"
            assert procedure_text(procedure.definition, "Pas dans la définition") == "Pas dans la définition"
        assert localized(fiches, "name", "en") == "Tax withholding cards"


# --- Procedure definitions -------------------------------------------------------------------------


def test_the_typed_view_and_the_dossier_sections_speak_the_language(app):
    factories.demo_procedures()
    procedure = Procedure.get(Procedure.slug == "alva-etablissement-alimentaire")
    with app.test_request_context():
        french = procedures.definition(procedure)
        with force_locale("de"):
            german = procedures.definition(procedure)
        english = procedures.definition(procedure, "en")
    assert (french.title, german.title, english.title) == (
        "Enregistrement d'un établissement alimentaire",
        "Registrierung eines Lebensmittelbetriebs",
        "Registration of a food establishment",
    )
    activity = next(field for field in english.fields() if field.options)
    assert activity.label == "Main activity" and activity.options[1].label == "Bakery, pastry shop"
    assert activity.options[1].value == next(f for f in french.fields() if f.options).options[1].value
    assert german.steps[2].fields[2].hint == "Optional. Ohne IBAN wird die Gebühr in Rechnung gestellt."

    lea = factories.user("lea")
    space = factories.space(lea, name="Guichet")
    dossier = factories.dossier(space, Procedure.get(Procedure.slug == ACD))
    with app.test_request_context(), force_locale("en"):
        sections = dossier_data.sections(dossier, {})
    assert [section.title for section in sections[:2]] == ["Your company", "Your employees"]
    assert sections[0].entries[0].label == "Company name"
    assert sections[1].entries[0].columns[:2] == ("National identification number", "Surname")


def definitions_dir(tmp_path, data):
    (tmp_path / "x.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_check_refuses_a_definition_lacking_a_translation(app, tmp_path, language):
    data = json.loads(open(f"data/procedures/{ACD}.json", encoding="utf-8").read())
    del data["translations"][language]["Code postal"]
    with pytest.raises(procedures.DefinitionError) as broken:
        procedures.check_definitions(definitions_dir(tmp_path, data))
    assert broken.value.problems == [
        f"{tmp_path / 'x.json'}: translations/{language}: texte sans traduction : « Code postal »"
    ]
    data["translations"][language]["Code postal"] = " "  # a blank one: the schema says it
    with pytest.raises(procedures.DefinitionError) as broken:
        procedures.check_definitions(definitions_dir(tmp_path, data))
    assert broken.value.problems == [
        f"{tmp_path / 'x.json'}: translations/{language}/Code postal: ' ' does not match '\\\\S'"
    ]


def test_every_shipped_definition_translates_every_shown_text(app):
    for _path, data in procedures.read_definitions("data/procedures"):
        texts = procedures.shown_texts(data)
        assert texts and all(data["translations"][lang][text] for lang in ("de", "en") for text in texts)


# --- Pages -------------------------------------------------------------------------------------------


@pytest.fixture
def lea(client, app, clock):
    factories.demo_procedures()
    lea = factories.user("lea")
    lea.space = factories.space(lea, name="Guichet")
    factories.holder_certification(lea.space)
    log_in(client, lea)
    lea.home = f"/espaces/{lea.space.id}"
    lea.token = csrf_token(client.get(lea.home).get_data(as_text=True))
    return lea


def choose(client, lea, language):
    response = client.post("/langue", data={"lang": language, "next": lea.home, "csrf_token": lea.token})
    assert response.status_code in (302, 303)


@pytest.mark.parametrize(
    "language, service, step, label, title",
    [
        (
            "fr",
            "Fiches de retenue d'impôt",
            "Votre entreprise",
            "Raison sociale",
            "Fiches de retenue d'impôt : demande",
        ),
        (
            "de",
            "Lohnsteuerkarten",
            "Ihr Unternehmen",
            "Firmenname",
            "Lohnsteuerkarten: Antrag auf Ausstellung",
        ),
        (
            "en",
            "Tax withholding cards",
            "Your company",
            "Company name",
            "Tax withholding cards: request for cards",
        ),
    ],
)
def test_pages_show_the_catalogue_and_the_procedure_in_the_language(
    client, lea, language, service, step, label, title
):
    choose(client, lea, language)
    home = text(client.get(lea.home))
    assert f">{service}</a>" in home  # Mes services
    dossier = factories.dossier(lea.space, Procedure.get(Procedure.slug == ACD))
    page = text(client.get(f"/espaces/{lea.space.id}/dossiers/{dossier.id}/etapes/1"))
    assert f"{step}</h2>" in page and f'<label for="company_name">{label}' in page
    assert f'<li aria-current="step" class="current">{step}</li>' in page
    assert title in text(client.get(lea.home))  # the dossier in Mes démarches


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_vault_s_labels_and_the_secret_images_are_translated(app, language):
    """Mes données's group and key labels and the secret images' names are data: their files
    carry the German and the English beside the French."""
    from services import auth, vault

    labels = {vault.OTHER_GROUP[1], *vault.GROUPS.values(), *(key.label for key in vault.KEYS.values())}
    with app.test_request_context(), force_locale(language):
        untranslated = sorted(labels - vault.TRANSLATIONS[language].keys())
        names = {languages.localized_entry(image, "label") for image in auth.secret_images()}
    assert not untranslated
    assert len(names) == len(auth.secret_images()) and not names & {i["label"] for i in auth.secret_images()}
