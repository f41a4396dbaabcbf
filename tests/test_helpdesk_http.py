"""The helpdesk's pages over HTTP: the catalogue, Comptes et espaces and the Journal d'audit,
their forms as htmx fragments, plain posts and boosted requests; refusals beside their field
with 422; the CSV export; the pages' query budgets; and no page for an administration's
agents."""

import html
import io
import json

import pytest

import factories
from helpers import BOOSTED, HTMX, agent_log_in, assert_constant_queries, csrf_token
from models import Administration, AuditEntry, AuthProduct, Procedure, Service, Space
from services import audit, auth, catalogue, spaces

WAYS = pytest.mark.parametrize(
    "headers, partial", [({}, False), (HTMX, True), (BOOSTED, False)], ids=["plain", "htmx", "boosted"]
)
CATALOGUE = "/back-office/helpdesk/catalogue"
ACCOUNTS = "/back-office/helpdesk/comptes"
JOURNAL = "/back-office/helpdesk/journal"
ADDRESS_CHANGE = json.loads(open("data/procedures/lbr-changement-adresse.json", encoding="utf-8").read())


def text(response):
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def desk(client, app, clock):
    factories.demo_procedures()
    helpdesk = factories.helpdesk()
    assert agent_log_in(client, "helpdesk").headers["Location"] == CATALOGUE
    helpdesk.token = csrf_token(client.get(CATALOGUE).get_data(as_text=True))
    return helpdesk


def post(client, desk, url, data=None, headers=None, **kwargs):
    return client.post(url, data={"csrf_token": desk.token, **(data or {})}, headers=headers or {}, **kwargs)


def in_three(prefix="", **french):
    """The French texts and their German and English ("Nom (de)"...), as the forms post them."""
    posted = {}
    for field, text in french.items():
        posted[prefix + field] = text
        for language in ("de", "en"):
            posted[f"{prefix}{field}_{language}"] = f"{text} ({language})" if text else ""
    return posted


def went_to(response, partial, location, target=None, headers=None):
    """A 303 to `location`; for htmx, HX-Location into `target` (the page it was on); a new
    row's page (no `target`) is loaded whole: HX-Redirect for any htmx request."""
    if target and partial:
        assert response.status_code == 200 and json.loads(response.headers["HX-Location"]) == {
            "path": location,
            "target": target,
            "swap": "outerHTML",
        }
    elif not target and headers:
        assert response.status_code == 200 and response.headers["HX-Redirect"] == location
    else:
        assert response.status_code == 303 and response.headers["Location"] == location


def test_only_the_helpdesk_opens_its_pages(client, app, clock):
    factories.demo_procedures()
    factories.agent()
    agent_log_in(client)
    token = csrf_token(client.get("/back-office").get_data(as_text=True))
    adapter = app.url_map.bind("localhost")
    urls = [
        (method, adapter.build(rule.endpoint, {name: 1 for name in rule.arguments}))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/back-office/helpdesk/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    ]
    assert len(urls) >= 17
    for method, url in urls:
        response = client.open(url, method=method, data={"csrf_token": token, "active": "0"})
        assert response.status_code == 403, (method, url)
    assert Administration.select().where(Administration.active == False).count() == 0  # noqa: E712


# --- Administrations et démarches --------------------------------------------------------------


def test_the_catalogue_lists_administrations_services_and_procedures(client, desk):
    page = text(client.get(CATALOGUE))
    assert "Administrations et démarches" in page and "5 administrations" in page
    assert "Fiches de retenue d'impôt" in page and "Déclaration de changement d'adresse" in page
    assert (
        'enctype="multipart/form-data"' in page and 'aria-current="page">Administrations et démarches' in page
    )


@WAYS
def test_create_an_administration(client, desk, headers, partial):
    posted = {
        "code": "ccss",
        "letter_language": "de",
        **in_three(name="Centre commun", certification_text=""),
    }
    response = post(client, desk, CATALOGUE + "/administrations", posted, headers)
    created = Administration.get(code="CCSS")
    went_to(response, partial, f"{CATALOGUE}/administrations/{created.id}", headers=headers)
    assert (created.letter_language, created.translations) == (
        "de",
        {
            "de": {"name": "Centre commun (de)", "certification_text": ""},
            "en": {"name": "Centre commun (en)", "certification_text": ""},
        },
    )
    page = text(client.get(f"{CATALOGUE}/administrations/{created.id}"))
    assert "Administration créée : CCSS." in page and "<h1>Centre commun (CCSS)</h1>" in page
    assert 'lang="de" maxlength="200" name="name_de" required type="text" value="Centre commun (de)"' in page
    assert '<option selected value="de">' in page


@WAYS
def test_an_administration_needs_its_german_and_english_texts(client, desk, headers, partial):
    posted = {"code": "CCSS", **in_three(name="Centre commun"), "name_en": ""}
    refused = post(client, desk, CATALOGUE + "/administrations", posted, headers)
    assert refused.status_code == 422 and 'id="name_en-error">Saisissez le nom en anglais.' in text(refused)
    # A text given in French is given in the other two (the service says so beside the field).
    posted = {**in_three(name="Centre commun"), "code": "CCSS", "certification_text": "Par courrier."}
    refused = post(client, desk, CATALOGUE + "/administrations", posted, headers)
    assert refused.status_code == 422
    assert 'id="certification_text_de-error">Saisissez la traduction' in text(refused)
    assert not Administration.select().where(Administration.code == "CCSS").exists()


@WAYS
def test_a_refused_administration_is_said_beside_its_field(client, desk, headers, partial):
    posted = {"code": "ACD", "letter_language": "fr", **in_three(name="Encore")}
    response = post(client, desk, CATALOGUE + "/administrations", posted, headers)
    assert response.status_code == 422
    body = text(response)
    assert body.lstrip().startswith('<section class="panel" id="catalogue">') == partial
    assert 'id="code-error">Une administration porte déjà ce code.' in body and 'value="Encore"' in body
    assert Administration.select().count() == 5


@WAYS
def test_edit_an_administration_and_add_a_service(client, desk, headers, partial):
    acd = Administration.get(code="ACD")
    page_url = f"{CATALOGUE}/administrations/{acd.id}"
    form = text(client.get(page_url, headers=headers))
    assert form.lstrip().startswith('<section class="panel" id="administration">') == partial
    assert "Pour les fiches de retenue d'impôt, l'ACD envoie" in form  # the text, to edit
    assert "Für Lohnsteuerkarten sendet die ACD" in form and "For tax withholding cards, the ACD" in form
    posted = {"letter_language": "en", **in_three(name="ACD", certification_text="Nouveau texte")}
    response = post(client, desk, page_url, posted, headers)
    went_to(response, partial, page_url, "#administration")
    saved = Administration.get_by_id(acd.id)
    assert (saved.certification_text, saved.letter_language) == ("Nouveau texte", "en")
    assert saved.translations["de"] == {"name": "ACD (de)", "certification_text": "Nouveau texte (de)"}

    service = {
        "service-slug": "declarations",
        **in_three("service-", name="Déclarations", description=""),
        "service-requires_certification": "y",
    }
    refused = post(client, desk, page_url + "/services", service, headers)
    assert (
        refused.status_code == 422
        and 'id="service-methods-error">Un service qui exige une certification' in text(refused)
    )
    response = post(
        client, desk, page_url + "/services", {**service, "service-methods": ["code", "request"]}, headers
    )
    went_to(response, partial, page_url, "#administration")
    created = Service.get(slug="declarations")
    assert (created.administration_id, created.accepts_code, created.accepts_request) == (acd.id, True, True)
    assert created.translations["en"] == {"name": "Déclarations (en)", "description": ""}
    assert "Service créé : Déclarations." in text(client.get(page_url))


@WAYS
def test_edit_and_deactivate_a_service(client, desk, headers, partial):
    fiches = Service.get(slug="fiches-retenue")
    page_url = f"{CATALOGUE}/services/{fiches.id}"
    page = text(client.get(page_url))
    assert '<input checked id="methods-0" name="methods" type="checkbox" value="code">' in page
    assert 'value="Tax withholding cards"' in page  # the English name, to edit
    refused = post(
        client, desk, page_url, {**in_three(name="Fiches", description="Texte"), "description_de": ""}
    )
    assert refused.status_code == 422 and 'id="description_de-error">Saisissez la traduction' in text(refused)
    posted = {**in_three(name="Fiches", description=""), "methods": ["request"]}
    response = post(client, desk, page_url, posted, headers)
    went_to(response, partial, page_url, "#service")
    fiches = Service.get_by_id(fiches.id)
    assert (fiches.name, fiches.requires_certification, fiches.accepts_code) == ("Fiches", False, False)
    assert fiches.translations["de"] == {"name": "Fiches (de)", "description": ""}

    toggle = f"{CATALOGUE}/services/{fiches.id}/activation"
    went_to(post(client, desk, toggle, {"active": "0"}, headers), partial, page_url, "#service")
    assert Service.get_by_id(fiches.id).active is False
    page = text(client.get(page_url))
    assert "Désactivé : Fiches." in page and ">Réactiver</button>" in page
    went_to(post(client, desk, toggle, {"active": "1"}, headers), partial, page_url, "#service")
    assert Service.get_by_id(fiches.id).active is True


def test_activation_of_something_else_is_not_found(client, desk):
    assert post(client, desk, f"{CATALOGUE}/espaces/1/activation", {"active": "0"}).status_code == 404
    assert post(client, desk, f"{CATALOGUE}/services/999/activation", {"active": "0"}).status_code == 404


def upload(client, desk, url, content, headers=None):
    return post(
        client,
        desk,
        url,
        {"definition": (io.BytesIO(content), "demarche.json")},
        headers,
        content_type="multipart/form-data",
    )


@WAYS
def test_upload_a_procedure(client, desk, headers, partial):
    broken = {**ADDRESS_CHANGE, "slug": "lbr-radiation", "administration": "XYZ"}
    response = upload(client, desk, CATALOGUE + "/demarches", json.dumps(broken).encode(), headers)
    assert response.status_code == 422
    body = text(response)
    assert "Le fichier de définition n'est pas valide : rien n'a été enregistré." in body
    assert "<code>administration : administration 'XYZ' inconnue</code>" in body
    assert not Procedure.select().where(Procedure.slug == "lbr-radiation").exists()

    missing = post(client, desk, CATALOGUE + "/demarches", headers=headers)
    assert missing.status_code == 422 and "Choisissez le fichier de définition." in text(missing)

    good = json.dumps({**ADDRESS_CHANGE, "slug": "lbr-radiation"}).encode()
    response = upload(client, desk, CATALOGUE + "/demarches", good, headers)
    created = Procedure.get(slug="lbr-radiation")
    went_to(response, partial, f"{CATALOGUE}/demarches/{created.id}", headers=headers)
    assert "Démarche ajoutée : Déclaration de changement d'adresse." in text(
        client.get(f"{CATALOGUE}/demarches/{created.id}")
    )


@WAYS
def test_replace_a_definition_and_download_it(client, desk, headers, partial):
    procedure = Procedure.get(slug="lbr-changement-adresse")
    page_url = f"{CATALOGUE}/demarches/{procedure.id}"
    wrong = upload(client, desk, page_url, json.dumps({**ADDRESS_CHANGE, "slug": "autre"}).encode(), headers)
    assert wrong.status_code == 422 and "le fichier décrit 'autre'" in text(wrong)
    assert text(wrong).lstrip().startswith('<section class="panel" id="procedure">') == partial

    untranslated = json.dumps({**ADDRESS_CHANGE, "title": "Transfert du siège"}).encode()
    refused = text(upload(client, desk, page_url, untranslated, headers))
    assert "translations/de : texte sans traduction : « Transfert du siège »" in refused
    assert "translations/en : texte sans traduction : « Transfert du siège »" in refused
    new = json.dumps(factories.retitled(ADDRESS_CHANGE, "Transfert du siège")).encode()
    went_to(upload(client, desk, page_url, new, headers), partial, page_url, "#procedure")
    assert Procedure.get_by_id(procedure.id).title == "Transfert du siège"

    download = client.get(page_url + "/definition.json")
    assert download.headers["Content-Disposition"] == 'attachment; filename="lbr-changement-adresse.json"'
    assert json.loads(download.data)["title"] == "Transfert du siège"


def test_catalogue_pages_query_budget(client, desk):
    def grow(n):
        for i in range(Administration.select().count(), n):
            administration = factories.administration(f"ADM{i}", f"Administration {i}")
            factories.service(administration, slug=f"service-{i}", name=f"Service {i}")

    assert_constant_queries(client, CATALOGUE, grow, small=6, large=49)


# --- Comptes et espaces ------------------------------------------------------------------------


def test_find_a_person(client, desk):
    factories.user("lea")
    page = text(client.get(ACCOUNTS, query_string={"userid": "LEA"}, headers=HTMX))
    assert page.lstrip().startswith('<section class="panel" id="accounts">')
    assert "Léa Guichet" in page and "0 / 200" in page and "Non bloquée" in page
    missing = text(client.get(ACCOUNTS, query_string={"userid": "le"}))
    assert "Aucune personne n'a cet identifiant (UserID)." in missing and 'id="person"' not in missing


@WAYS
def test_set_a_space_limit(client, desk, headers, partial):
    factories.user("lea")
    refused = post(client, desk, ACCOUNTS + "/limite", {"userid": "lea", "limit": "-3"}, headers)
    assert refused.status_code == 422 and "La limite est un nombre entier de 0 à 100 000." in text(refused)
    response = post(client, desk, ACCOUNTS + "/limite", {"userid": "lea", "limit": "350"}, headers)
    went_to(response, partial, ACCOUNTS + "?userid=lea", "#accounts")
    assert AuthProduct.get().space_limit == 350
    assert "Limite d'espaces professionnels de lea : 350." in text(client.get(ACCOUNTS + "?userid=lea"))


@WAYS
def test_unlock_a_person_and_an_agent(client, desk, headers, partial, clock):
    from models import Throttle

    factories.user("lea")
    factories.agent()
    Throttle.create(key=auth.login_key("lea"), consecutive_failures=100, locked_at=clock.now())
    assert "Bloquée" in text(client.get(ACCOUNTS + "?userid=lea"))
    response = post(client, desk, ACCOUNTS + "/deblocage", {"userid": "lea"}, headers)
    went_to(response, partial, ACCOUNTS + "?userid=lea", "#accounts")
    page = text(client.get(ACCOUNTS + "?userid=lea"))
    assert "Compte de lea débloqué : il était bloqué." in page and "Non bloquée" in page
    post(client, desk, ACCOUNTS + "/deblocage", {"userid": "lea"}, headers)
    assert "Le compte de lea n'était pas bloqué : rien à débloquer." in text(client.get(ACCOUNTS))

    assert 'name="agent-userid"' in text(client.get(ACCOUNTS))
    unknown = post(client, desk, ACCOUNTS + "/agents/deblocage", {"agent-userid": "personne"}, headers)
    assert unknown.status_code == 404 and 'id="agent-userid-error">Aucun agent n\'a cet identifiant.' in text(
        unknown
    )
    response = post(client, desk, ACCOUNTS + "/agents/deblocage", {"agent-userid": "agent.alva"}, headers)
    went_to(response, partial, ACCOUNTS, "#accounts")
    assert "L'accès de l'agent agent.alva n'était pas bloqué : rien à débloquer." in text(
        client.get(ACCOUNTS)
    )


@WAYS
def test_restore_a_deleted_space(client, desk, headers, partial, clock):
    lea = factories.user("lea")
    space = factories.space(lea, name="Guichet")
    spaces.delete_space(spaces.membership_for(lea, space.id), lea, "Guichet")
    page = text(client.get(ACCOUNTS))
    assert f'id="deleted-space-{space.id}"' in page and "par Léa Guichet" in page
    restore = f"/back-office/helpdesk/espaces-supprimes/{space.id}/restaurer"
    response = post(client, desk, restore, headers=headers)
    went_to(response, partial, ACCOUNTS, "#accounts")
    assert Space.get_by_id(space.id).deleted_at is None
    page = text(client.get(ACCOUNTS))
    assert "Espace restauré : Guichet." in page and "Aucun espace supprimé ces 30 derniers jours." in page
    again = post(client, desk, restore, headers=headers)
    assert again.status_code == 400 and "Aucun espace supprimé avec ce numéro." in text(again)


def test_deleted_spaces_query_budget(client, desk):
    lea = factories.user("lea")

    def grow(n):
        for i in range(Space.select().count(), n):
            factories.space(lea, name=f"Espace {i}", deleted_at=desk.created_at, deleted_by=lea)

    assert_constant_queries(client, ACCOUNTS + "?userid=lea", grow, small=3, large=60)


# --- Journal d'audit ---------------------------------------------------------------------------


def test_journal_filters_and_pages(client, desk):
    lea = factories.user("lea")
    factories.space(lea, name="Guichet")
    audit.record("space.deleted", actor=lea, space_id=42, name="Guichet")
    page = text(client.get(JOURNAL, query_string={"person": "léa", "action": "space.*"}, headers=HTMX))
    assert page.lstrip().startswith('<section class="panel" id="journal">')
    assert "1 entrée" in page and 'id="entry-' in page and "<code>space.deleted</code>" in page
    assert '<option value="space.*" selected>space (toutes)</option>' in page
    assert (
        "/back-office/helpdesk/journal/export.csv?person=l%C3%A9a&action=space." in page
    )  # the same filters
    wrong = text(client.get(JOURNAL, query_string={"space": "abc", "from": "25/03/2026"}))
    assert "Le numéro d'espace est un nombre entier : ce filtre est ignoré." in wrong
    assert "Une date s'écrit AAAA-MM-JJ : ce filtre est ignoré." in wrong
    none = text(client.get(JOURNAL, query_string={"space": "99"}))
    assert "Aucune entrée ne correspond à ces critères." in none


def test_journal_query_budget(client, desk):
    def grow(n):
        for i in range(AuditEntry.select().count(), n):
            audit.record(f"area{i % 7}.action", space_id=i, n=i)

    assert_constant_queries(client, JOURNAL + "?action=area1.*", grow, small=20, large=400)


def test_export_the_journal_as_csv(client, desk):
    audit.record("space.deleted", space_id=42, name="Guichet")
    response = client.get(JOURNAL + "/export.csv", query_string={"space": "42"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="journal-audit.csv"'
    body = response.data.decode("utf-8")
    assert body.startswith("\ufeffid;date;acteur;action;espace;adresse IP;détails\r\n")
    assert body.count("\r\n") == 2 and ";space.deleted;42;" in body
    exported = AuditEntry.select().where(AuditEntry.action == "audit.exported").get()
    assert exported.actor == "Hélène Helpdesk (Helpdesk)" and exported.details == {
        "filters": {"space_id": 42}
    }


@WAYS
def test_verify_the_chain(client, desk, headers, partial):
    audit.record("space.deleted", space_id=42, name="Guichet")
    count = AuditEntry.select().count()
    head = AuditEntry.select().order_by(AuditEntry.id.desc()).first().hash
    response = post(client, desk, JOURNAL + "/verification?action=agent.*", headers=headers)
    went_to(response, partial, JOURNAL + "?action=agent.*", "#journal")
    page = text(client.get(JOURNAL))
    assert f"Chaîne d'audit intacte : {count} entrées vérifiées, la dernière a l'empreinte {head}." in page
    assert AuditEntry.select().order_by(AuditEntry.id.desc()).first().action == "audit.verified"


# --- Lengths ---------------------------------------------------------------------------------------


def test_forms_at_maximum_length_never_fail(client, desk):
    """On PostgreSQL, which enforces lengths, too."""
    response = post(
        client,
        desk,
        CATALOGUE + "/administrations",
        {
            "code": "A" * 16,
            **{f"name{suffix}": "n" * 200 for suffix in ("", "_de", "_en")},
            **{f"certification_text{suffix}": "t" * 4000 for suffix in ("", "_de", "_en")},
            "letter_language": "fr",
        },
    )
    assert response.status_code == 303
    created = Administration.get(code="A" * 16)
    response = post(
        client,
        desk,
        f"{CATALOGUE}/administrations/{created.id}/services",
        {
            "service-slug": "s" * 64,
            **{f"service-name{suffix}": "n" * 200 for suffix in ("", "_de", "_en")},
            **{f"service-description{suffix}": "d" * 4000 for suffix in ("", "_de", "_en")},
            "service-methods": ["code"],
        },
    )
    assert response.status_code == 303 and Service.get(slug="s" * 64).name == "n" * 200
    too_long = post(client, desk, CATALOGUE + "/administrations", {"code": "A" * 17, "name": "x"})
    assert too_long.status_code == 422
    assert catalogue.administration_of(created.id).name == "n" * 200
