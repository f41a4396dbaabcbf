"""Mes services impots over HTTP: Activer mon espace in a Mode simplifié space (the home's
banner, the code, an expired code's page, a new code), and in a Mode expert space the
numéro d'abonné on its pages, the adhesions, J'adhère (SIREN, then services and what they
ask), the code of an adhesion, Retirer l'adhésion; each form three ways (htmx, plain with a
303, boosted); refusals beside their field with their status; readers see; the tab's query
budget. Who may reach each URL is in the matrix (tests/test_spaces_http.py)."""

import html
import json
import re

import pytest

import factories
from helpers import BOOSTED, HTMX, assert_constant_queries, csrf_token, fingerprint, log_in
from models import Adhesion, Certification, Company, Letter, Service
from services import letters

WAYS = pytest.mark.parametrize(
    "headers, partial", [({}, False), (HTMX, True), (BOOSTED, False)], ids=["plain", "htmx", "boosted"]
)


def text(response):
    return html.unescape(response.get_data(as_text=True))


def visible(response):
    """The page's text without its tags."""
    return " ".join(re.sub(r"<[^>]+>", " ", text(response)).split())


def moved(response, partial, tab):
    """Done: htmx goes to the tab in place (HX-Location), the others get a 303 to it."""
    if partial:
        assert response.status_code == 200
        assert json.loads(response.headers["HX-Location"]) == {
            "path": tab,
            "target": "#space-tab",
            "swap": "outerHTML",
        }
    else:
        assert response.status_code == 303 and response.headers["Location"] == tab


def fragment(response, partial):
    body = text(response)
    assert ("<html" not in body) == partial
    return body


def code_of(adhesion):
    return letters.carried_code(Letter.get_by_id(Adhesion.get_by_id(adhesion.id).letter_id))


# --- Mode simplifié ---------------------------------------------------------------------------


@pytest.fixture
def paul(client, app, clock):
    member, adhesion, code = factories.simplified_space()
    log_in(client, member.user)
    paul = member.user
    paul.member, paul.adhesion, paul.code = member, adhesion, code
    paul.tab = f"/espaces/{member.space_id}/impots"
    paul.activate = f"/espaces/{member.space_id}/impots/adhesions/{adhesion.id}/activer"
    paul.token = csrf_token(client.get(paul.tab).get_data(as_text=True))
    return paul


def test_home_banner_and_tab_say_the_services_wait_for_activation(client, paul):
    home = visible(client.get(f"/espaces/{paul.member.space_id}"))
    assert "Vos services en ligne sont en attente d'activation" in home and "Activer mon espace" in home
    assert "Mes services impots" in home  # the tab
    tab = visible(client.get(paul.tab))
    assert "Vos services sont en attente d'activation" in tab
    for name in ("Messagerie", "Déclarer la TVA", "Payer la TVA", "Consulter le compte fiscal"):
        assert f"{name} en attente d'activation" in tab
    assert "Recevoir un nouveau code" in tab and "Numéro d'abonné" not in tab


@WAYS
def test_activer_mon_espace(client, paul, headers, partial):
    response = client.post(paul.activate, data={"csrf_token": paul.token, "code": paul.code}, headers=headers)
    moved(response, partial, paul.tab)
    tab = visible(client.get(paul.tab))
    assert "Votre espace est activé : ses services en ligne sont disponibles." in tab
    assert "Votre espace est activé depuis le" in tab and "Messagerie active" in tab
    assert "en attente" not in tab
    assert Certification.select().where(Certification.kind == "holder").count() == 4
    certifications = visible(client.get(f"/espaces/{paul.member.space_id}/certifications"))
    assert "Messagerie" in certifications and "Payer la TVA" in certifications
    assert "en attente d'activation" not in visible(client.get(f"/espaces/{paul.member.space_id}"))


@WAYS
def test_a_wrong_code_is_said_beside_the_field(client, paul, headers, partial):
    before = fingerprint()
    response = client.post(
        paul.activate, data={"csrf_token": paul.token, "code": "AAAA-BBBB-CCCC"}, headers=headers
    )
    assert response.status_code == 422
    body = fragment(response, partial)
    assert 'aria-invalid="true"' in body and "Ce code d'activation n'est pas valable." in body
    assert fingerprint() == before
    response = client.post(paul.activate, data={"csrf_token": paul.token, "code": ""}, headers=headers)
    assert response.status_code == 422 and "Saisissez le code d'activation." in text(response)


@WAYS
def test_an_expired_code_gets_its_page_and_a_new_code_once(client, paul, clock, headers, partial):
    clock.advance(days=60, seconds=1)
    log_in(client, paul)  # the session ended meanwhile
    assert "le délai de 60 jours pour saisir le code" in visible(
        client.get(f"/espaces/{paul.member.space_id}")
    )
    response = client.post(paul.activate, data={"csrf_token": paul.token, "code": paul.code}, headers=headers)
    assert response.status_code == 410
    body = fragment(response, partial)
    assert "Code d'activation expiré" in body and "Le délai de 60 jours" in body
    assert f'action="{paul.activate.replace("activer", "nouveau-code")}"' in body
    assert client.get(paul.activate).status_code == 410
    response = client.post(
        paul.activate.replace("activer", "nouveau-code"), data={"csrf_token": paul.token}, headers=headers
    )
    moved(response, partial, paul.tab)
    tab = visible(client.get(paul.tab))
    assert "Un nouveau code d'activation est envoyé par courrier" in tab
    assert "Un nouveau code a déjà été envoyé le" in tab and "Contacter le Helpdesk" in tab
    assert Letter.select().count() == 1  # the old code's letter, never printed, left the queue
    response = client.post(
        paul.activate.replace("activer", "nouveau-code"), data={"csrf_token": paul.token}, headers=headers
    )
    assert response.status_code == 409 and "Contactez le Helpdesk" in text(response)
    assert Letter.select().count() == 1
    new_code = code_of(paul.adhesion)
    moved(client.post(paul.activate, data={"csrf_token": paul.token, "code": new_code}), False, paul.tab)


def test_wrong_codes_are_throttled_over_http(client, paul, clock):
    for _ in range(10):
        assert (
            client.post(paul.activate, data={"csrf_token": paul.token, "code": "AAAABBBBCCCC"}).status_code
            == 422
        )
    response = client.post(paul.activate, data={"csrf_token": paul.token, "code": paul.code})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) <= 15 * 60
    assert "Trop de tentatives erronées" in text(response)
    clock.advance(minutes=15)
    moved(client.post(paul.activate, data={"csrf_token": paul.token, "code": paul.code}), False, paul.tab)


def test_a_reader_sees_the_state_but_does_not_activate(client, paul, app):
    reader = factories.impots_user("lise@example.fr", first_name="Lise")
    factories.member(paul.member.space, reader, "reader")
    log_in(client, reader)
    tab = visible(client.get(paul.tab))
    assert "en attente d'activation" in tab and "Les administrateurs de l'espace saisissent" in tab
    assert "Recevoir un nouveau code" not in tab
    response = client.post(paul.activate, data={"csrf_token": paul.token, "code": paul.code})
    assert response.status_code == 403 and Adhesion.get().activated_at is None


# --- Mode expert --------------------------------------------------------------------------------


@pytest.fixture
def marie(client, app, clock):
    member = factories.expert_space()
    factories.registered_company(**factories.BOULANGERIE_DUPONT)
    factories.registered_company(**factories.GARAGE_MARTIN)
    log_in(client, member.user)
    marie = member.user
    marie.member = member
    marie.tab = f"/espaces/{member.space_id}/impots"
    marie.adhere = f"{marie.tab}/adherer"
    marie.token = csrf_token(client.get(marie.tab).get_data(as_text=True))
    return marie


def ids(*slugs):
    return [str(Service.get(Service.slug == f"dgfip-{slug}").id) for slug in slugs]


def test_the_subscriber_number_is_on_every_page_of_the_space(client, marie):
    space = marie.member.space_id
    for url in ("", "/donnees", "/communications", "/impots", "/profil", "/certifications", "/utilisateurs"):
        response = client.get(f"/espaces/{space}{url}")
        assert response.status_code == 200, url
        assert "Numéro d'abonné : 0612345678" in visible(response), url


def test_the_tab_shows_only_in_impots_spaces(client, app, marie):
    lea = factories.user("lea")
    token_space = factories.space(lea)
    log_in(client, lea)
    home = text(client.get(f"/espaces/{token_space.id}"))
    assert "Mes services impots" not in home and "Numéro d'abonné" not in home
    assert client.get(f"/espaces/{token_space.id}/impots").status_code == 404


def test_j_adhere_first_asks_the_siren(client, marie):
    tab = visible(client.get(marie.tab))
    assert "Cet espace n'a encore adhéré aux services d'aucune entreprise." in tab and "J'adhère" in tab
    page = text(client.get(marie.adhere))
    assert f'<form action="{marie.adhere}" method="get"' in page and 'name="siren"' in page
    for siren, status, message in (
        ("12345", 422, "Numéro SIREN invalide"),
        (factories.THIRD_SIREN, 422, "ne figure pas dans le registre des entreprises"),
        ("", 422, "Saisissez le numéro SIREN."),
    ):
        response = client.get(marie.adhere, query_string={"siren": siren})
        assert response.status_code == status and message in text(response), siren
        assert 'aria-invalid="true"' in text(response)
    page = visible(client.get(marie.adhere, query_string={"siren": "404 833 048"}))
    assert "Boulangerie Dupont SAS" in page and "12, rue des Lilas, 69003 Lyon, France" in page
    for label in ("Messagerie", "Déclarer la TVA", "Payer la TVA", "Consulter le compte fiscal"):
        assert label in page
    # Without JavaScript every field shows, saying when it is needed; the e-mail prefilled.
    body = text(client.get(marie.adhere, query_string={"siren": factories.SIREN}))
    assert 'value="contact@boulangerie-dupont.fr"' in body and 'name="iban"' in body
    assert "Obligatoire si vous choisissez la Messagerie" in body
    assert "Obligatoire si vous choisissez un service « Payer »" in body


def test_with_htmx_the_fields_follow_the_ticked_services(client, marie):
    def fields(siren, *slugs):
        query = [("siren", siren)] + [("services", i) for i in ids(*slugs)]
        body = text(client.get(marie.adhere, query_string=query, headers=HTMX))
        assert "<html" not in body
        return {
            name for name in ("company_email", "iban", "account_holder") if f'name="{name}"' in body
        }, body

    assert fields(factories.SIREN)[0] == set()
    assert fields(factories.SIREN, "messagerie")[0] == {"company_email"}
    assert fields(factories.SIREN, "payer-tva")[0] == {"iban", "account_holder"}
    shown, body = fields(factories.OTHER_SIREN, "messagerie", "payer-tva")
    assert (
        shown == {"company_email"}
        and "le compte bancaire connu de l'entreprise sera utilisé : FR76 •••• 0189" in body
    )
    assert 'hx-trigger="change"' in body and "checked" in body


@WAYS
def test_j_adhere(client, marie, headers, partial):
    data = {
        "csrf_token": marie.token,
        "siren": factories.SIREN,
        "services": ids("messagerie", "payer-tva"),
        "company_email": "dirigeant@boulangerie-dupont.fr",
        "iban": "FR76 3000 6000 0112 3456 7890 189",
        "account_holder": "Boulangerie Dupont SAS",
    }
    response = client.post(marie.adhere, data=data, headers=headers)
    moved(response, partial, marie.tab)
    adhesion = Adhesion.get()
    assert adhesion.company_email == "dirigeant@boulangerie-dupont.fr" and adhesion.iban.startswith("FR76")
    tab = visible(client.get(marie.tab))
    assert "Demande d'adhésion enregistrée pour Boulangerie Dupont SAS" in tab
    assert "SIREN 404833048" in tab and "Messagerie, Payer la TVA" in tab and "en attente du code" in tab
    assert "Saisir le code d'activation" in tab and "1 adhésion" in tab
    # The same company again: 409, beside the SIREN.
    response = client.post(marie.adhere, data=data, headers=headers)
    assert response.status_code == 409 and "déjà une adhésion en cours" in text(response)
    assert Adhesion.select().count() == 1


@WAYS
@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"services": []}, "services", "Choisissez au moins un service."),
        ({"company_email": ""}, "company_email", "Le service Messagerie demande l'adresse électronique"),
        (
            {"company_email": "pas-une-adresse"},
            "company_email",
            "Cette adresse électronique n'est pas valide.",
        ),
        ({"iban": ""}, "iban", "Aucun compte bancaire actif n'est connu"),
        ({"iban": "FR76 0000"}, "iban", "IBAN invalide"),
        ({"account_holder": ""}, "account_holder", "Indiquez le titulaire du compte bancaire."),
        ({"siren": "404833049"}, "siren", "Numéro SIREN invalide"),
    ],
)
def test_j_adhere_refusals_beside_their_field(client, marie, headers, partial, changes, field, message):
    data = {
        "csrf_token": marie.token,
        "siren": factories.SIREN,
        "services": ids("messagerie", "payer-tva"),
        "company_email": "dirigeant@boulangerie-dupont.fr",
        "iban": "FR7630006000011234567890189",
        "account_holder": "Boulangerie Dupont SAS",
        **changes,
    }
    before = fingerprint()
    response = client.post(marie.adhere, data=data, headers=headers)
    assert response.status_code == 422
    body = fragment(response, partial)
    assert message in body
    error = re.search(r'<p class="field-error" id="([^"]+)-error">', body)
    assert error and error.group(1) in (field, "services")
    assert Adhesion.select().count() == 0 and Letter.select().count() == 0 and fingerprint() == before


@WAYS
def test_an_adhesion_s_code_then_withdrawal(client, marie, clock, headers, partial):
    adhesion, code = factories.adhesion(marie.member, slugs=("dgfip-messagerie", "dgfip-compte-fiscal"))
    activate = f"{marie.tab}/adhesions/{adhesion.id}/activer"
    page = fragment(client.get(activate, headers=headers), partial)
    assert "Saisir le code d'activation" in page and "Boulangerie Dupont SAS" in page
    response = client.post(
        activate, data={"csrf_token": marie.token, "code": "AAAA-BBBB-CCCC"}, headers=headers
    )
    assert response.status_code == 422 and "n'est pas valable" in text(response)
    response = client.post(activate, data={"csrf_token": marie.token, "code": code}, headers=headers)
    moved(response, partial, marie.tab)
    tab = visible(client.get(marie.tab))
    assert "Services activés pour Boulangerie Dupont SAS." in tab and " active " in f" {tab} "
    assert Certification.select().where(Certification.kind == "proxy").count() == 2
    response = client.post(activate, data={"csrf_token": marie.token, "code": code}, headers=headers)
    assert response.status_code == 409 and "déjà activés" in text(response)
    assert 'name="code"' not in text(response)  # an active adhesion takes no code any more
    page = text(client.get(activate))
    assert "aucun code n'est plus à saisir" in page and 'name="code"' not in page

    withdraw = f"{marie.tab}/adhesions/{adhesion.id}/retirer"
    before = fingerprint()
    asked = fragment(client.get(withdraw, headers=headers), partial)
    assert "Retirer l'adhésion pour l'entreprise Boulangerie Dupont SAS (SIREN 404833048) ?" in asked
    assert f'<form action="{withdraw}" method="post"' in asked and fingerprint() == before
    moved(client.post(withdraw, data={"csrf_token": marie.token}, headers=headers), partial, marie.tab)
    tab = visible(client.get(marie.tab))
    assert "Adhésion retirée : Boulangerie Dupont SAS." in tab and "retirée" in tab
    assert Certification.select().where(Certification.revoked_at.is_null()).count() == 0
    response = client.post(withdraw, data={"csrf_token": marie.token}, headers=headers)
    assert response.status_code == 410


def test_another_space_s_adhesion_is_not_found_over_http(client, marie, app):
    other = factories.expert_space(factories.impots_user("paul@example.fr"), subscriber_number="0698765432")
    adhesion, code = factories.adhesion(other)
    before = fingerprint()
    for url, data in (
        (f"{marie.tab}/adhesions/{adhesion.id}/activer", {"code": code}),
        (f"{marie.tab}/adhesions/{adhesion.id}/nouveau-code", {}),
        (f"{marie.tab}/adhesions/{adhesion.id}/retirer", {}),
    ):
        assert client.get(url).status_code in (404, 405), url
        assert client.post(url, data={"csrf_token": marie.token, **data}).status_code == 404, url
    assert fingerprint() == before and Adhesion.get().activated_at is None


@pytest.mark.parametrize("role", ["manager", "reader"])
def test_managers_and_readers_see_the_adhesions(client, marie, role):
    factories.adhesion(marie.member)
    colleague = factories.impots_user(f"{role}@example.fr", first_name=role.title())
    factories.member(marie.member.space, colleague, role)
    log_in(client, colleague)
    tab = visible(client.get(marie.tab))
    assert "Boulangerie Dupont SAS" in tab and "en attente du code" in tab
    assert "J'adhère" not in tab and "Saisir le code d'activation" not in tab and "Retirer" not in tab
    assert "votre rôle permet de consulter les adhésions" in tab
    assert client.get(marie.adhere).status_code == 403


def test_the_tab_runs_the_same_queries_for_5_and_500_adhesions(client, marie):
    count = assert_constant_queries(
        client, marie.tab, lambda n: factories.adhesions_rows(marie.member, n), large=500
    )
    assert count <= 12
    page2 = visible(client.get(marie.tab, query_string={"page": 2}))
    assert "Page 2 sur 10" in page2 and "500 adhésions" in page2
    found = visible(client.get(marie.tab, query_string={"q": "Client 499"}))
    assert "1 adhésion" in found


def test_the_home_banner_counts_the_adhesions_waiting_for_their_code(client, marie):
    factories.adhesion(marie.member)
    factories.adhesion(marie.member, Company.get(Company.identifier == factories.OTHER_SIREN))
    home = visible(client.get(f"/espaces/{marie.member.space_id}"))
    assert "2 adhésions attendent leur code d'activation." in home


def test_the_messagerie_reads_the_dgfip_s_messages_in_the_communications_tab(client, marie):
    adhesion, code = factories.adhesion(
        marie.member, slugs=("dgfip-messagerie",), company_email="c@dupont.fr"
    )
    message = factories.communication("DGFIP", factories.SIREN, subject="Votre avis de TVA")
    factories.communication("DGFIP", factories.OTHER_SIREN, subject="Relance Garage")
    tab = f"/espaces/{marie.member.space_id}/communications"
    assert "Votre avis de TVA" not in visible(client.get(tab))  # pending: not yet
    activate = f"{marie.tab}/adhesions/{adhesion.id}/activer"
    moved(client.post(activate, data={"csrf_token": marie.token, "code": code}), False, marie.tab)
    page = visible(client.get(tab))
    assert "Communications (1)" in page and "Votre avis de TVA" in page and "Relance Garage" not in page
    assert "Faire certifier cet espace" not in page
    opened = client.get(f"{tab}/{message.id}")
    assert opened.status_code == 200 and "Votre déclaration est attendue" in visible(opened)


def test_j_adhere_says_every_refused_field_at_once(client, marie):
    data = {
        "csrf_token": marie.token,
        "siren": factories.SIREN,
        "services": ids("messagerie", "payer-tva"),
        "company_email": "",
        "iban": "FR76 3000 6000 0112 3456 7890 188",
        "account_holder": "",
    }
    response = client.post(marie.adhere, data=data, headers=HTMX)
    assert response.status_code == 422
    body = text(response)
    for field in ("company_email", "iban", "account_holder"):
        assert f'id="{field}-error"' in body, field
    assert "IBAN invalide" in body and "Indiquez le titulaire du compte bancaire." in body
    assert Adhesion.select().count() == 0 and Letter.select().count() == 0
