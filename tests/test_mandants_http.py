"""Pour le compte de a mandant, over HTTP: Commencer une démarche asks for which company when
the space holds mandates for the procedure's service (a real form: radio buttons, CSRF, no
JavaScript needed; searched and paged with htmx); the draft is the mandant's, prefilled from
its company record, and shows in its holder space as "déposé par … (mandataire)"; once the
mandate is revoked, the mandatary's draft is read-only at once."""

import html
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest

import clock as clock_module
import factories
from helpers import BOOSTED, HTMX, assert_constant_queries, csrf_token, fingerprint, log_in
from models import Certification, Dossier, Service
from services import dossiers, mandates, spaces

pytestmark = pytest.mark.usefixtures("request_context")

WAYS = pytest.mark.parametrize(
    "headers, partial", [({}, False), (HTMX, True), (BOOSTED, False)], ids=["plain", "htmx", "boosted"]
)
ACD = "acd-fiches-retenue"


@pytest.fixture
def world(client, app, clock):
    """Guichet SARL's holder space (Léa) has given Fiona's fiduciary space (Fidu SA, certified
    for the fiches de retenue itself, at another address) a mandate for them. Fiona is
    logged in."""
    holder, fiduciary, certification = factories.fiduciary_and_client()
    lea, fiona, guichet, fidu = holder.user, fiduciary.user, holder.space, fiduciary.space
    log_in(client, fiona)
    home = f"/espaces/{fidu.id}"
    token = csrf_token(client.get(home).get_data(as_text=True))
    spaces_ = dict(guichet=guichet, fidu=fidu, holder=holder, mandate=certification)
    return SimpleNamespace(
        lea=lea, fiona=fiona, home=home, choice=f"{home}/demarches/{ACD}", token=token, **spaces_
    )


def text(response):
    return html.unescape(response.get_data(as_text=True))


def start(client, world, mandate_id, headers=None):
    data = {"csrf_token": world.token, "mandate_id": str(mandate_id)}
    return client.post(world.choice, data=data, headers=headers or {})


def step_url(dossier, number=1):
    return f"/espaces/{dossier.space_id}/dossiers/{dossier.id}/etapes/{number}"


# --- Commencer une démarche: for which company --------------------------------------------


def test_commencer_asks_for_which_company_when_the_space_holds_mandates(client, world):
    body = text(client.get(world.home))
    assert f'<a href="{world.choice}">Commencer' in body  # a page that asks, not a start
    assert f'action="{world.home}/demarches/lbr-changement-adresse"' in body  # no mandate: starts
    page = text(client.get(world.choice))
    assert "<html" in page and "Pour quelle entreprise ?" in page
    radios = re.findall(r'<input type="radio" id="[^"]+" name="mandate_id" value="([^"]*)"( checked)?>', page)
    assert radios == [("", " checked"), (str(world.mandate.id), "")]
    assert "Fidu SA" in page and "votre entreprise" in page
    assert "Guichet SARL" in page and "pour le compte de ce mandant" in page
    assert re.search(
        r"pour le compte de ce mandant <span class=\"muted\">\(mandat jusqu'au [^)]+\)</span>", page
    )
    assert f'<form action="{world.choice}" method="post">' in page and 'name="csrf_token"' in page
    fragment = text(client.get(world.choice, headers=HTMX))
    assert (
        fragment.lstrip().startswith('<section class="panel" id="start-choice"') and "<html" not in fragment
    )


@WAYS
def test_the_fiduciary_starts_for_its_client_prefilled_from_the_clients_record(
    client, world, headers, partial
):
    response = start(client, world, world.mandate.id, headers)
    dossier = Dossier.get()
    if headers:
        assert response.status_code == 200 and response.headers["HX-Redirect"] == step_url(dossier)
    else:
        assert response.status_code == 303 and response.headers["Location"] == step_url(dossier)
    assert (dossier.space_id, dossier.mandate_id, dossier.mandant_space_id) == (
        world.fidu.id,
        world.mandate.id,
        world.guichet.id,
    )
    assert (dossier.company_identifier, dossier.company_name) == ("B123456", "Guichet SARL")
    step = text(client.get(step_url(dossier)))
    assert 'value="Guichet SARL"' in step and 'value="1, rue du Commerce"' in step
    assert "Fidu SA" not in step and "2, avenue de la Gare" not in step
    assert "Pour le compte de Guichet SARL (B123456)" in step
    assert (
        "reprennent la fiche de l'entreprise Guichet SARL" in step
        and "vos données professionnelles" not in step
    )


def test_its_own_company_is_the_first_choice(client, world):
    assert start(client, world, "").status_code == 303
    dossier = Dossier.get()
    assert (dossier.company_identifier, dossier.mandate_id, dossier.mandant_space_id) == (
        "B222222",
        None,
        None,
    )
    step = text(client.get(step_url(dossier)))
    assert 'value="2, avenue de la Gare"' in step and "Pour le compte de" not in step
    assert "reprennent vos données professionnelles" in step


def test_without_its_own_certification_only_the_mandants_are_offered(client, world):
    Certification.update(revoked_at=clock_module.now()).where(
        Certification.space == world.fidu.id, Certification.kind == "holder"
    ).execute()
    page = text(client.get(world.choice))
    radios = re.findall(r'name="mandate_id" value="([^"]*)"( checked)?>', page)
    assert radios == [(str(world.mandate.id), " checked")] and "votre entreprise" not in page
    before = fingerprint()
    refused = start(client, world, "")
    assert refused.status_code == 403 and "demande la certification" in text(refused)
    assert fingerprint() == before and Dossier.select().count() == 0


def test_a_mandate_not_the_spaces_or_no_longer_live_is_refused(client, world):
    other = factories.space(
        factories.user("otto"), name="Autre", company_name="Autre SA", identifier="B444444"
    )
    elsewhere = Certification.create(
        space=other, service=Service.get(slug="fiches-retenue"), kind="proxy", company_identifier="B555555"
    )
    mandates.revoke_mandate(world.holder, world.lea, mandates.mandate_of_certification(world.mandate).id)
    before = fingerprint()
    for mandate_id in (elsewhere.id, world.mandate.id):
        refused = start(client, world, mandate_id)
        assert refused.status_code == 403 and "pas de mandat actif" in text(refused), mandate_id
    assert fingerprint() == before and Dossier.select().count() == 0


def test_a_reader_is_not_asked(client, world):
    reader = factories.user("rita", email="rita@example.lu")
    factories.member(world.fidu, reader, "reader")
    log_in(client, reader)
    assert "/demarches/" not in text(client.get(world.home))
    assert client.get(world.choice).status_code == 403


def test_the_choice_is_searched_and_paged_in_place_with_a_constant_query_budget(client, world):
    service = Service.get(slug="fiches-retenue")

    def grow(count):
        have = Certification.select().where(
            Certification.space == world.fidu.id, Certification.kind == "proxy"
        )
        Certification.insert_many(
            [
                {
                    "space": world.fidu.id,
                    "service": service.id,
                    "kind": "proxy",
                    "company_name": f"Client {i:03d} SA",
                    "company_identifier": f"B6{i:05d}",
                    "ends_at": clock_module.now() + timedelta(days=30),
                }
                for i in range(have.count(), count)
            ]
        ).execute()

    assert_constant_queries(client, world.choice, grow, small=5, large=120)
    first = text(client.get(world.choice))
    assert "Page 1 sur 3" in first and "Rechercher un mandant" in first
    found = text(client.get(world.choice, query_string={"q": "Client 042"}, headers=HTMX))
    assert found.lstrip().startswith('<section class="panel" id="start-choice"')
    assert re.findall(r"(Client \d+ SA)", found) == ["Client 042 SA"] and "Page 1 sur" not in found
    assert "Aucun mandant ne correspond" in text(client.get(world.choice, query_string={"q": "zzz"}))


# --- The mandant's space, the end of the mandate -------------------------------------------


def test_the_mandant_sees_the_dossier_marked_filed_by_the_mandatary(client, world):
    start(client, world, world.mandate.id)
    dossier = Dossier.get()
    log_in(client, world.lea)
    body = text(client.get(f"/espaces/{world.guichet.id}"))
    assert "déposé par Fiduciaire Fiona (mandataire)" in body
    assert f'href="/espaces/{world.guichet.id}/dossiers/{dossier.id}"' in body  # the page, not the assistant
    assert f"/dossiers/{dossier.id}/etapes" not in body


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_once_the_mandate_is_revoked_the_draft_is_read_only_at_once(client, world, headers):
    start(client, world, world.mandate.id)
    dossier = Dossier.get()
    mandates.revoke_mandate(world.holder, world.lea, mandates.mandate_of_certification(world.mandate).id)
    before = Dossier.get_by_id(dossier.id)

    form = {"csrf_token": world.token, "version": "0", "action": "draft", "company_name": "Autre"}
    refused = client.post(step_url(dossier), data=form, headers=headers)
    body = text(refused)
    assert refused.status_code == 403
    assert "Le mandat sous lequel ce dossier a été déposé a pris fin" in body
    assert ("<html" not in body) == bool(headers) and "Enregistrer le brouillon" not in body
    after = Dossier.get_by_id(dossier.id)
    assert (after.data, after.version, after.updated_at) == (before.data, before.version, before.updated_at)

    page = text(client.get(step_url(dossier)))
    assert "Le mandat sous lequel ce dossier a été déposé a pris fin" in page
    assert "Suivant</button>" not in page and 'value="Guichet SARL"' in page  # read, not changed
    home = text(client.get(world.home))
    assert "Mandat terminé : lecture seule" in home
    assert f'href="{world.home}/dossiers/{dossier.id}"' in home
    assert f"/dossiers/{dossier.id}/etapes" not in home
    assert (
        dossiers.dossier_for(spaces.membership_for(world.fiona, world.fidu.id), dossier.id).id == dossier.id
    )
