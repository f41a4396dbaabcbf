"""Communications over HTTP: the agent's form (multipart, plain post + 303, htmx, boosted),
refusals beside their field with 422; the sent list and a communication's receipts; the
space's tab with its unread count, a communication opened (its receipt), its documents as
downloads, an uncertified space told how to get certified; each administration its own;
query budgets that hold at 500 communications to a company of 2,000 spaces."""

import html
import re
from datetime import timedelta

import pytest

import factories
from helpers import BOOSTED, HTMX, agent_log_in, assert_constant_queries, count_queries, csrf_token, log_in
from models import AuditEntry, Communication, CommunicationDocument, CommunicationRead, OutboxMail, Service
from services import catalogue

NEW = "/back-office/communications/nouvelle"
SENT = "/back-office/communications"
WAYS = pytest.mark.parametrize(
    "headers, partial", [({}, False), (HTMX, True), (BOOSTED, False)], ids=["plain", "htmx", "boosted"]
)


def text(response):
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def world(app, clock):
    """Léa's Guichet (B123456, certified), Ugo's Guichet bis (B123456, not certified); Agnès,
    an ACD agent, is logged in on `client`."""
    catalogue.load()
    lea = factories.user("lea")
    ugo = factories.user("ugo", first_name="Ugo")
    certified = factories.space(lea, name="Guichet")
    factories.holder_certification(certified)
    uncertified = factories.space(ugo, name="Guichet bis")
    return {
        "lea": lea,
        "ugo": ugo,
        "certified": certified,
        "uncertified": uncertified,
        "agnes": factories.agent("ACD", "agent.acd"),
    }


@pytest.fixture
def agent(client, world):
    assert agent_log_in(client, "agent.acd").headers["Location"] == "/back-office"
    client.token = csrf_token(client.get(NEW).get_data(as_text=True))
    return client


def form(client, **fields):
    data = {
        "csrf_token": client.token,
        "audience": "company",
        "identifier": "B123456",
        "service": "",
        "subject": "Rappel : déclaration annuelle",
        "body": "Votre déclaration est attendue.\r\n\r\nCordialement.",
    }
    return {**data, **fields}


def pdf(name="avis.pdf", content=factories.PDF):
    import io

    return (io.BytesIO(content), name)


# --- The agent's side ---------------------------------------------------------------------------


@WAYS
def test_send_a_communication_with_a_document(agent, world, headers, partial):
    page = text(agent.get(NEW))
    assert 'enctype="multipart/form-data"' in page and f'action="{NEW}"' in page
    assert "Les entreprises certifiées pour un service" in page and "Fiches de retenue d'impôt" in page
    response = agent.post(NEW, data=form(agent, documents=[pdf()]), headers=headers)
    communication = Communication.get()
    detail = f"{SENT}/{communication.id}"
    if headers:  # htmx follows the redirect with a full load, boosted or not
        assert response.status_code == 200 and response.headers["HX-Redirect"] == detail
    else:
        assert response.status_code == 303 and response.headers["Location"] == detail
    body = text(agent.get(detail))
    assert "Communication envoyée : elle atteint aujourd'hui 2 espaces." in body
    assert "Rappel : déclaration annuelle" in body and "Entreprise B123456 (Guichet SARL)" in body
    assert "<p>Votre déclaration est attendue.</p>" in body and "<p>Cordialement.</p>" in body
    assert body.count("Non lu") == 2 and "espace non certifié : il ne peut pas la lire" in body
    document = CommunicationDocument.get()
    download = agent.get(f"{detail}/documents/{document.id}")
    assert download.data == factories.PDF and download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == 'attachment; filename="avis.pdf"'
    assert sorted(m.to for m in OutboxMail.select()) == ["lea@example.lu", "ugo@example.lu"]


@WAYS
def test_refusals_are_said_beside_their_field_and_send_nothing(agent, world, headers, partial):
    for fields, field, message in (
        ({"identifier": "B012345"}, "identifier", "Saisissez un numéro RCS luxembourgeois"),
        ({"subject": ""}, "subject", "Saisissez l'objet de la communication."),
        ({"body": "  "}, "body", "Saisissez le texte de la communication."),
        (
            {"audience": "service", "service": "999"},
            "service",
            "Choisissez un service de votre administration.",
        ),
        ({"documents": [pdf("photo.png", factories.PNG)]}, "documents", "« photo.png » n'est pas un PDF"),
        ({"documents": [pdf(f"{n}.pdf") for n in range(6)]}, "documents", "Joignez 5 documents au plus."),
    ):
        response = agent.post(NEW, data=form(agent, **fields), headers=headers)
        body = text(response)
        assert response.status_code == 422, fields
        assert ("<html" not in body) == partial
        assert partial is False or body.lstrip().startswith('<section class="panel" id="communication-form">')
        assert re.search(rf'<p class="field-error" id="{field}-error">[^<]*{re.escape(message)}', body), field
        assert 'class="error-summary"' in body
    assert Communication.select().count() == 0 and OutboxMail.select().count() == 0
    # What was typed is kept to correct.
    body = text(agent.post(NEW, data=form(agent, identifier="B012345", subject="Objet gardé")))
    assert 'value="Objet gardé"' in body and 'value="B012345"' in body


def test_send_to_the_companies_certified_for_a_service(agent, world):
    acd = Service.get(slug="fiches-retenue")
    response = agent.post(NEW, data=form(agent, audience="service", identifier="", service=str(acd.id)))
    assert response.status_code == 303
    assert Communication.get().audience == "Entreprises certifiées pour « Fiches de retenue d'impôt »"


def test_the_sent_list_searches_and_counts_the_reads(agent, world, clock):
    factories.communication(subject="Premier envoi", sent_at=clock.now() - timedelta(hours=1))
    second = factories.communication(subject="Second envoi")
    factories.communication("ITM", subject="Élections sociales")  # another administration's
    CommunicationRead.create(communication=second, space=world["certified"], reader="Léa Guichet")
    body = text(agent.get(SENT))
    assert "2 communications" in body and "Élections sociales" not in body
    assert body.index("Second envoi") < body.index("Premier envoi")  # the newest first
    assert "Lue dans 1 espace sur 2" in body and "Non lue" in body
    found = agent.get(f"{SENT}?q=Premier", headers=HTMX)
    partial = text(found)
    assert partial.lstrip().startswith('<section class="panel" id="communications">')
    assert "Premier envoi" in partial and "Second envoi" not in partial and "1 communication" in partial


def test_receipts_say_who_read_and_when(agent, world, clock):
    communication = factories.communication()
    CommunicationRead.create(
        communication=communication, space=world["certified"], reader="Léa Guichet", read_at=clock.now()
    )
    body = text(agent.get(f"{SENT}/{communication.id}"))
    assert "Lu le 25/03/2026 08:40 par Léa Guichet" in body and "Non lu" in body
    found = text(agent.get(f"{SENT}/{communication.id}?q=bis", headers=HTMX))
    assert "Guichet bis" in found and "Léa Guichet" not in found and "1 espace" in found


def test_another_administrations_communication_does_not_exist(agent, world):
    theirs = factories.communication("ITM", documents=[factories.PDF])
    document = CommunicationDocument.get()
    for url in (f"{SENT}/{theirs.id}", f"{SENT}/{theirs.id}/documents/{document.id}", f"{SENT}/999999"):
        assert agent.get(url).status_code == 404, url
    mine = factories.communication()
    assert agent.get(f"{SENT}/{mine.id}/documents/{document.id}").status_code == 404


# --- The space's side ---------------------------------------------------------------------------


@pytest.fixture
def lea(client, world):
    log_in(client, world["lea"])
    client.space = world["certified"]
    client.tab = f"/espaces/{world['certified'].id}/communications"
    return client


def test_the_tab_counts_the_unread_on_every_page_and_opening_reads(lea, world, clock):
    communication = factories.communication(documents=[factories.PDF])
    factories.communication(subject="Déjà lue")
    CommunicationRead.create(
        communication=Communication.get(Communication.subject == "Déjà lue"),
        space=world["certified"],
        reader="Marc",
    )
    space_id = world["certified"].id
    for path in ("", "/donnees", "/communications", "/profil", "/certifications"):
        assert "Communications (1)" in text(lea.get(f"/espaces/{space_id}{path}")), path
    body = text(lea.get(lea.tab))
    assert body.count("Non lu") == 1 and "<strong>Rappel : déclaration annuelle</strong>" in body
    assert "Lu le 25/03/2026 08:40 par Marc" in body
    opened_url = f"{lea.tab}/{communication.id}"
    assert f'href="{opened_url}"' in body

    opened = lea.get(opened_url, headers=HTMX)
    page = text(opened)
    assert opened.status_code == 200 and page.lstrip().startswith('<div id="space-tab"')
    assert (
        "Rappel : déclaration annuelle" in page and "Administration des contributions directes (ACD)" in page
    )
    assert "<p>Votre déclaration est attendue avant le 31 mars.</p>" in page
    assert "Lu le 25/03/2026 08:40 par Léa Guichet" in page
    assert "Communications (1)" not in page and 'aria-current="page">Communications<' in page
    document = CommunicationDocument.get()
    download = lea.get(f"{opened_url}/documents/{document.id}")
    assert download.status_code == 200 and download.data == factories.PDF
    assert download.headers["Content-Disposition"] == 'attachment; filename="document-1.pdf"'
    assert download.headers["Cache-Control"] == "no-store"
    assert CommunicationRead.select().count() == 2
    assert AuditEntry.select().where(AuditEntry.action == "communication.read").count() == 1


def test_an_uncertified_space_lists_without_the_subject_and_is_told_how_to_read(client, world):
    communication = factories.communication(documents=[factories.PDF])
    log_in(client, world["ugo"])
    space_id = world["uncertified"].id
    tab = f"/espaces/{space_id}/communications"
    body = text(client.get(tab))
    assert "Communications (1)" in body and "Non lu" in body
    assert "Rappel" not in body and "Communication réservée aux espaces certifiés" in body
    assert f'href="/espaces/{space_id}/certifications"' in body
    for headers in ({}, HTMX):
        refused = client.get(f"{tab}/{communication.id}", headers=headers)
        body = text(refused)
        assert refused.status_code == 403 and "seul un espace certifié de l'entreprise" in body
        assert f'href="/espaces/{space_id}/certifications"' in body and "Rappel" not in body
    document = CommunicationDocument.get()
    assert client.get(f"{tab}/{communication.id}/documents/{document.id}").status_code == 403
    assert CommunicationRead.select().count() == 0


def test_another_companys_space_finds_nothing(client, world):
    communication = factories.communication(documents=[factories.PDF])
    bea = factories.user("bea")
    other = factories.space(bea, name="Boulangerie", identifier="B777777")
    factories.holder_certification(other)
    log_in(client, bea)
    tab = f"/espaces/{other.id}/communications"
    assert "Aucune communication pour le moment." in text(client.get(tab))
    document = CommunicationDocument.get()
    for url in (f"{tab}/{communication.id}", f"{tab}/{communication.id}/documents/{document.id}"):
        assert client.get(url).status_code == 404, url
    # Nor does a member of Guichet through another space's URL.
    assert client.get(f"/espaces/{world['certified'].id}/communications").status_code == 404


def test_a_private_space_says_it_has_none(client, world):
    private = factories.space(world["lea"], name="Privé", kind="private")
    factories.communication()
    log_in(client, world["lea"])
    body = text(client.get(f"/espaces/{private.id}/communications"))
    assert "Un espace privé ne reçoit pas de communications" in body
    assert client.get(f"/espaces/{private.id}/communications/{Communication.get().id}").status_code == 404


def test_the_space_search(lea, world):
    factories.communication(subject="Nouveau barème")
    factories.communication("ITM", subject="Élections sociales")
    body = text(lea.get(f"{lea.tab}?q=barème", headers=HTMX))
    assert "Nouveau barème" in body and "Élections sociales" not in body
    body = text(lea.get(f"{lea.tab}?q=mines"))  # Inspection du travail et des mines
    assert "Élections sociales" in body and "Nouveau barème" not in body
    assert "Aucune communication ne correspond à votre recherche." in text(lea.get(f"{lea.tab}?q=zzz"))


# --- Decisions, end to end ------------------------------------------------------------------------


def test_a_dossier_decision_arrives_in_the_space(agent, world, client):
    procedure = factories.procedure()
    dossier = factories.transmitted_dossier(world["certified"], procedure)
    page = f"/back-office/dossiers/{dossier.id}"
    token = csrf_token(agent.get(page).get_data(as_text=True))
    assert agent.post(f"{page}/prendre-en-charge", data={"csrf_token": token}).status_code == 303
    decision = Communication.get()
    assert (decision.kind, decision.subject) == ("decision", "Dossier ACD-2026-000001 : pris en charge")
    assert "Non lue" in text(agent.get(SENT))
    other = client.application.test_client()
    log_in(other, world["lea"])
    body = text(other.get(f"/espaces/{world['certified'].id}/communications"))
    assert "Communications (1)" in body and "Décision" in body
    opened = text(other.get(f"/espaces/{world['certified'].id}/communications/{decision.id}"))
    assert "Votre dossier ACD-2026-000001 est en cours de traitement par l'administration." in opened
    assert "Lue dans 1 espace sur 1" in text(agent.get(SENT))


# --- Query budgets ------------------------------------------------------------------------------


def test_the_space_tab_and_the_sent_list_cost_the_same_at_5_and_at_500(agent, world, client):
    person = client.application.test_client()
    log_in(person, world["lea"])
    tab = f"/espaces/{world['certified'].id}/communications"

    def grow(n):
        have = Communication.select().count()
        factories.communications_to("B123456", n - have)

    assert_constant_queries(person, tab, grow, small=5, large=500)
    assert_constant_queries(person, f"{tab}?q=Communication&page=2", grow, small=500, large=520)
    assert_constant_queries(person, f"/espaces/{world['certified'].id}", grow, small=520, large=540)
    assert_constant_queries(agent, SENT, grow, small=540, large=560)


def test_2000_spaces_of_the_company_cost_no_more_queries(agent, world, client):
    """500 communications to a company of 2,000 spaces: the space's tab, the sent list and a
    communication's receipts run as many statements as with a handful of spaces."""
    factories.communications_to("B123456", 500)
    communication = Communication.select().order_by(Communication.sent_at.desc()).first()
    person = client.application.test_client()
    log_in(person, world["lea"])
    urls = [
        (person, f"/espaces/{world['certified'].id}/communications"),
        (person, f"/espaces/{world['certified'].id}/communications/{communication.id}"),
        (agent, SENT),
        (agent, f"{SENT}/{communication.id}"),
    ]

    person.get(urls[1][1])  # the receipt is written once: every count below is a reading again

    def counts():
        result = []
        for who, url in urls:
            with count_queries() as q:
                assert who.get(url).status_code == 200, url
            result.append(q.count)
        return result

    few = counts()
    factories.company_spaces(2000)
    many = counts()
    assert many == few
    body = text(agent.get(SENT))
    assert "Lue dans 1 espace sur 2\u202f002" in body
    assert "2\u202f002 espaces" in text(agent.get(f"{SENT}/{communication.id}"))  # French grouping
