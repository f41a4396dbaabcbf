"""The help pages over HTTP: the footer on every page, Contacter le Helpdesk and Votre avis
nous intéresse as htmx fragments, plain posts and boosted requests, their refusals (422, 429
with the wait), and the helpdesk's Contacts and Avis: who may open them, Répondre three ways,
the query budgets of both lists."""

import html
import re

import pytest

import factories
from helpers import BOOSTED, HTMX, agent_log_in, assert_constant_queries, csrf_token, log_in
from models import ContactRequest, Feedback, OutboxMail
from services import contact

WAYS = pytest.mark.parametrize(
    "headers, partial", [({}, False), (HTMX, True), (BOOSTED, False)], ids=["plain", "htmx", "boosted"]
)
CONTACT = {
    "name": "Léa Guichet",
    "email": "lea.guichet@example.lu",
    "subject": "Limite d'espaces",
    "message": "Bonjour,\r\npouvez-vous relever ma limite ?",
}


def text(response):
    return html.unescape(response.get_data(as_text=True))


def token(client, path="/aide"):
    return csrf_token(client.get(path).get_data(as_text=True))


# --- The public pages and the footer --------------------------------------------------------


@pytest.mark.parametrize(
    "path, heading",
    [
        ("/aide", "Aide"),
        ("/contact", "Contacter le Helpdesk"),
        ("/aspects-legaux", "Aspects légaux"),
        ("/accessibilite", "Déclaration d'accessibilité"),
    ],
)
def test_the_help_pages_are_public(client, app, path, heading):
    response = client.get(path)
    body = text(response)
    assert response.status_code == 200 and f"<h1>{heading}</h1>" in body
    for link in ("/aide", "/contact", "/aspects-legaux", "/accessibilite", "/verifier-un-accuse"):
        assert f'href="{link}"' in body, link
    assert (
        "Votre avis nous intéresse" in body and f'name="feedback-page" type="hidden" value="{path}"' in body
    )


def test_the_pages_name_the_operator_and_the_rules(client, app):
    app.config.update(OPERATOR_NAME="Commune de Guichet", LETTER_SENDER="Commune de Guichet · L-0000 Guichet")
    legal = text(client.get("/aspects-legaux"))
    assert "Ce portail est exploité par Commune de Guichet" in legal
    assert "Adresse postale : Commune de Guichet · L-0000 Guichet" in legal
    for rule in ("72 heures", "30 jours", "7 jours", "6 mois", "espace_session", "Aucun cookie"):
        assert rule in legal, rule
    statement = text(client.get("/accessibilite"))
    for fact in ("WCAG 2.1", "axe-core", "Chromium", "sans JavaScript", "390 pixels", "Limites connues"):
        assert fact in statement, fact
    guide = text(client.get("/aide"))
    for label in (
        "Créer un compte",
        "Gérer mes espaces",
        "Ajouter une certification via code d'accès",
        "Mandat principal",
        "Dispenser un mandat",
        "Ajouter un accès",
        "Commencer une démarche",
        "Signer et transmettre",
    ):
        assert label in guide, label


def test_every_full_page_has_the_feedback_form_but_no_fragment(client, app, clock):
    body = text(client.get("/"))
    assert body.count('id="feedback"') == 1 and 'action="/avis"' in body
    assert 'hx-post="/avis" hx-target="#feedback"' in body
    assert "N'indiquez pas d'informations personnelles" in body
    for value, label in contact.RATINGS.items():
        assert f'value="{value}"' in body and str(label) in body
    fragment = text(client.get("/contact", headers=HTMX))
    assert "<html" not in fragment and 'id="feedback"' not in fragment


# --- Contacter le Helpdesk ------------------------------------------------------------------------


def test_a_logged_in_person_finds_the_form_filled_in(client, app, clock):
    assert 'value="Léa Guichet"' not in text(client.get("/contact"))
    log_in(client, factories.user("lea"))
    body = text(client.get("/contact"))
    assert 'value="Léa Guichet"' in body
    assert 'value="lea@example.lu"' in body


@WAYS
def test_sending_the_contact_form(client, app, clock, headers, partial):
    response = client.post("/contact", data={**CONTACT, "csrf_token": token(client)}, headers=headers)
    if partial:
        assert response.status_code == 200 and response.headers["HX-Location"]
        assert '"path": "/contact"' in response.headers["HX-Location"]
        assert '"target": "#contact-card"' in response.headers["HX-Location"]
        body = text(client.get("/contact", headers=HTMX))
        assert body.lstrip().startswith('<section class="panel narrow" id="contact-card">')
    else:
        assert response.status_code == 303 and response.headers["Location"] == "/contact"
        body = text(client.get("/contact"))
    assert "Votre message a été envoyé au Helpdesk." in body
    stored = ContactRequest.get()
    assert (
        stored.subject == "Limite d'espaces" and stored.message == "Bonjour,\npouvez-vous relever ma limite ?"
    )
    assert stored.user is None
    assert OutboxMail.get().subject == "Votre message au Helpdesk : Limite d'espaces"


def test_a_logged_in_sender_is_kept_with_the_message(client, app, clock):
    lea = factories.user("lea")
    log_in(client, lea)
    client.post("/contact", data={**CONTACT, "csrf_token": token(client)})
    assert ContactRequest.get().user_id == lea.id


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_refusals_are_said_beside_the_fields(client, app, clock, headers):
    csrf = token(client)
    response = client.post(
        "/contact",
        data={"csrf_token": csrf, "name": "", "email": "", "subject": "", "message": ""},
        headers=headers,
    )
    body = text(response)
    assert response.status_code == 422 and ("<html" not in body) == bool(headers)
    for message in (
        "Saisissez votre nom.",
        "Saisissez votre adresse e-mail.",
        "Saisissez l'objet de votre message.",
        "Écrivez votre message.",
    ):
        assert message in body, message
    response = client.post(
        "/contact", data={**CONTACT, "email": "lea@example", "csrf_token": csrf}, headers=headers
    )
    body = text(response)
    assert response.status_code == 422
    assert '<p class="field-error" id="email-error">Cette adresse e-mail n\'est pas valide.</p>' in body
    assert 'value="Limite d\'espaces"' in body  # kept to correct
    response = client.post(
        "/contact", data={**CONTACT, "subject": "Objet\r\nBcc: eve@example.lu", "csrf_token": csrf}
    )
    assert response.status_code == 422 and "Ce champ tient sur une seule ligne" in text(response)
    assert client.post("/contact", data=CONTACT).status_code == 400  # no CSRF token
    assert ContactRequest.select().count() == 0 and OutboxMail.select().count() == 0


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_too_many_messages_wait(client, app, clock, headers):
    csrf = token(client)
    for _ in range(contact.CONTACT_LIMIT):
        assert client.post("/contact", data={**CONTACT, "csrf_token": csrf}).status_code == 303
    clock.advance(minutes=45)
    response = client.post("/contact", data={**CONTACT, "csrf_token": csrf}, headers=headers)
    body = text(response)
    assert response.status_code == 429 and response.headers["Retry-After"] == str(15 * 60)
    assert "Veuillez réessayer dans 15 minutes." in body and ("<html" not in body) == bool(headers)
    assert 'value="Limite d\'espaces"' in body  # the message is not lost
    assert ContactRequest.select().count() == 5


def test_the_longest_message_fits(client, app, clock):
    """On PostgreSQL, which enforces the columns' lengths."""
    from test_input import LONG_EMAIL

    data = {"name": "N" * 200, "email": LONG_EMAIL, "subject": "É" * 200, "message": "m" * 4000}
    response = client.post("/contact", data={**data, "csrf_token": token(client)})
    assert response.status_code == 303
    stored = ContactRequest.get()
    assert (len(stored.name), stored.email, len(stored.subject)) == (200, LONG_EMAIL, 200)
    too_long = client.post("/contact", data={**data, "message": "m" * 4001, "csrf_token": token(client)})
    assert too_long.status_code == 422 and "au plus 4000 caractères" in text(too_long)


# --- Votre avis nous intéresse --------------------------------------------------------------------

OPINION = {
    "feedback-page": "/aide",
    "feedback-found": "no",
    "feedback-rating": "2",
    "feedback-comment": "Trop court.",
}


@WAYS
def test_giving_an_opinion(client, app, clock, headers, partial):
    response = client.post("/avis", data={**OPINION, "csrf_token": token(client)}, headers=headers)
    if partial:
        body = text(response)
        assert response.status_code == 200 and body.lstrip().startswith(
            '<section class="feedback" id="feedback"'
        )
        assert "Votre avis a été envoyé avec succès !" in body and "Nous vous remercions" in body
    else:
        assert response.status_code == 303 and response.headers["Location"] == "/aide"
        assert "Votre avis a été envoyé avec succès !" in text(client.get("/aide"))
    kept = Feedback.get()
    assert (kept.page, kept.found, kept.rating, kept.comment) == ("/aide", False, 2, "Trop court.")


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_an_opinion_needs_both_answers(client, app, clock, headers):
    response = client.post(
        "/avis", data={"feedback-page": "/aide", "csrf_token": token(client)}, headers=headers
    )
    body = text(response)
    assert response.status_code == 422
    assert (
        "Répondez par Oui ou par Non." in body
        and "Choisissez une note de Très mauvaise à Très bonne." in body
    )
    assert body.count('id="feedback"') == 1  # one form, never the footer's beside it
    if headers:
        assert "<html" not in body and body.lstrip().startswith('<section class="feedback" id="feedback"')
    else:  # a page of its own, which still leads back
        assert '<h1 id="feedback-title">Votre avis nous intéresse</h1>' in body
        assert 'name="feedback-page" type="hidden" value="/aide"' in body
    assert Feedback.select().count() == 0


def test_an_opinion_on_no_page_of_the_portal(client, app, clock):
    data = {**OPINION, "feedback-page": "https://evil.example/", "csrf_token": token(client)}
    response = client.post("/avis", data=data)
    assert response.status_code == 400 and "Location" not in response.headers
    assert Feedback.select().count() == 0


def test_too_many_opinions_wait(client, app, clock):
    csrf = token(client)
    for _ in range(contact.FEEDBACK_LIMIT):
        client.post("/avis", data={**OPINION, "csrf_token": csrf})
    response = client.post("/avis", data={**OPINION, "csrf_token": csrf}, headers=HTMX)
    assert response.status_code == 429 and response.headers["Retry-After"] == "3600"
    assert "Veuillez réessayer dans 60 minutes." in text(response)
    assert Feedback.select().count() == contact.FEEDBACK_LIMIT


# --- The messages that send people to the helpdesk ------------------------------------------------


def test_the_space_limit_leads_to_the_contact_form(client, app, clock):
    from models import AuthProduct

    lea = factories.user("lea")
    AuthProduct.update(space_limit=0).execute()
    log_in(client, lea)
    response = client.get("/espaces/nouveau")
    assert response.status_code == 302
    body = text(client.get(response.headers["Location"]))
    assert "Pour l'augmenter, contactez le Helpdesk." in body
    assert re.search(
        r'role="alert">Vous avez atteint la limite[^<]*<a href="/contact">Contacter le Helpdesk</a>', body
    )


def test_certification_pages_lead_to_the_contact_form(client, app, clock):
    from services import catalogue

    catalogue.load()
    lea = factories.user("lea")
    space = factories.space(lea, name="Guichet")
    log_in(client, lea)
    body = text(client.get(f"/espaces/{space.id}/certifications/administrations"))
    assert "Vous n'avez pas de code d'accès ?" in body and 'href="/contact"' in body


# --- The helpdesk's Contacts and Avis -------------------------------------------------------------


@pytest.fixture
def helper(client, app, clock):
    helper = factories.helpdesk()
    assert agent_log_in(client, "helpdesk").headers["Location"] == "/back-office/helpdesk/catalogue"
    return helper


def test_only_the_helpdesk_opens_contacts_and_opinions(client, app, clock):
    request_ = factories.contact_request()
    pages = [
        ("GET", "/back-office/helpdesk/contacts"),
        ("GET", f"/back-office/helpdesk/contacts/{request_.id}"),
        ("POST", f"/back-office/helpdesk/contacts/{request_.id}/reponse"),
        ("GET", "/back-office/helpdesk/avis"),
    ]
    for method, url in pages:  # nobody logged in: to the back-office's login
        response = client.open(url, method=method, data={"answer": "Non.", "csrf_token": token(client)})
        assert (response.status_code, response.headers.get("Location")) == (303, "/back-office/connexion")
    factories.agent()
    agent_log_in(client)
    csrf = token(client, "/back-office")
    for method, url in pages:  # an administration's agent: refused
        assert client.open(url, method=method, data={"answer": "Non.", "csrf_token": csrf}).status_code == 403
    assert ContactRequest.get().answered_at is None and OutboxMail.select().count() == 0


def test_the_queue_and_a_request(client, helper):
    waiting = factories.contact_request("Compte bloqué", message="Mon compte est bloqué.\n<script>x</script>")
    lea = factories.user("lea")
    signed = factories.contact_request("Limite", user=lea)
    body = text(client.get("/back-office/helpdesk/contacts"))
    assert "2 demandes · 2 sans réponse" in body and "Compte bloqué" in body and "Sans réponse" in body
    assert f'href="/back-office/helpdesk/contacts/{waiting.id}"' in body
    assert 'aria-current="page">Contacts</a>' in body
    page = client.get(f"/back-office/helpdesk/contacts/{waiting.id}").get_data(as_text=True)
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x" not in page
    assert "Envoyé sans être connecté" in html.unescape(page)
    assert "UserID lea" in text(client.get(f"/back-office/helpdesk/contacts/{signed.id}"))
    assert client.get("/back-office/helpdesk/contacts/99999").status_code == 404


@WAYS
def test_answering_a_request(client, helper, clock, headers, partial):
    request_ = factories.contact_request()
    url = f"/back-office/helpdesk/contacts/{request_.id}"
    csrf = token(client, url)
    response = client.post(
        f"{url}/reponse", data={"answer": "C'est fait.", "csrf_token": csrf}, headers=headers
    )
    if partial:
        assert (
            response.status_code == 200 and '"target": "#contact-request"' in response.headers["HX-Location"]
        )
        body = text(client.get(url, headers=HTMX))
        assert body.lstrip().startswith('<section class="panel" id="contact-request">')
    else:
        assert response.status_code == 303 and response.headers["Location"] == url
        body = text(client.get(url))
    assert "Réponse envoyée à lea.guichet@example.lu." in body and "C'est fait." in body
    assert "Répondu le" in body and 'action="' + url + '/reponse"' not in body
    assert OutboxMail.get().subject == "Réponse du Helpdesk : Limite d'espaces professionnels"

    again = client.post(f"{url}/reponse", data={"answer": "Encore.", "csrf_token": csrf}, headers=headers)
    assert again.status_code == 409 and "a déjà reçu une réponse" in text(again)
    assert OutboxMail.select().count() == 1 and ContactRequest.get().answer == "C'est fait."


def test_an_empty_answer_is_said_beside_the_field(client, helper):
    request_ = factories.contact_request()
    url = f"/back-office/helpdesk/contacts/{request_.id}"
    response = client.post(
        f"{url}/reponse", data={"answer": " ", "csrf_token": token(client, url)}, headers=HTMX
    )
    assert response.status_code == 422 and 'id="answer-error"' in text(response)
    assert "Écrivez la réponse." in text(response) and OutboxMail.select().count() == 0


def test_the_opinions_filtered_by_page(client, helper, clock):
    factories.feedback("/aide", True, 5)
    factories.feedback("/espaces/3/donnees", False, 1, comment="Introuvable.")
    body = text(client.get("/back-office/helpdesk/avis"))
    assert "2 avis · 1 sur 2 a trouvé ce qu'il cherchait · note moyenne 3,0 sur 5" in body
    assert "1/5 (Très mauvaise)" in body and "Introuvable." in body
    body = text(client.get("/back-office/helpdesk/avis?q=donnees", headers=HTMX))
    assert body.lstrip().startswith('<section class="panel" id="feedback-list">')
    assert "/espaces/3/donnees" in body and ">/aide<" not in body
    assert "Aucun avis ne porte sur une page" in text(client.get("/back-office/helpdesk/avis?q=/rien"))


def test_both_lists_keep_a_constant_query_count(client, helper):
    def grow_requests(n):
        for i in range(ContactRequest.select().count(), n):
            factories.contact_request(f"Demande {i}", answered_at=None if i % 2 else helper.created_at)

    def grow_opinions(n):
        for i in range(Feedback.select().count(), n):
            factories.feedback(f"/page/{i}", i % 2 == 0, i % 5 + 1)

    assert_constant_queries(client, "/back-office/helpdesk/contacts", grow_requests, large=120)
    assert_constant_queries(client, "/back-office/helpdesk/avis", grow_opinions, large=120)
