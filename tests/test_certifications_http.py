"""Certification over HTTP: the holder and proxy code cards three ways (htmx
partial, plain post + redirect, boosted full page) and their throttling, Dispenser un mandat
with its code shown once and its letter, Révoquer from both sides, other spaces' ids, the
guard of a certified service, search, pagination and query budgets of the lists, and the
back-office deciding online requests."""

import html
import re
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from peewee import chunked

import clock
import factories
from database import PAGE_SIZE
from helpers import BOOSTED, HTMX, agent_log_in, assert_constant_queries, csrf_token, fingerprint, log_in
from models import AccessCode, AuditEntry, Certification, CertificationRequest, Letter, Mandate, Service
from services import access_codes, agents, catalogue, crypto, mandates, spaces

GENERIC = "Ce code d'accès n'est pas valable pour cet espace."
CODE_FORMAT = re.compile(r"\b[2-9A-HJKMNP-Z]{4}(?:-[2-9A-HJKMNP-Z]{4}){4}\b")
AGENT_PASSWORD = factories.AGENT_PASSWORD


pytestmark = pytest.mark.usefixtures("request_context")


def text(response):
    return html.unescape(response.get_data(as_text=True))


def card(body, card_id):
    """The element with `card_id` in `body` (the code cards have no nested <div id=…>)."""
    match = re.search(rf'<div class="panel code-card" id="{card_id}">.*?</form>\s*</div>', body, re.S)
    assert match, f"no #{card_id} in the response"
    return match.group(0)


def is_partial(body, card_id):
    """The response is the card alone: one root element, no page around it."""
    return "<html" not in body and body.strip().startswith(f'<div class="panel code-card" id="{card_id}">')


def undashed_lower(code):
    return code.replace("-", "").lower()


@pytest.fixture
def world(app, clock):
    catalogue.load()
    lea = factories.user("lea")
    guichet = factories.space(lea, name="Guichet")  # Guichet SARL, B123456
    fidu_user = factories.user(
        "fidu", email="fidu@example.lu", first_name="Fidu", last_name="Ciaire", matricule="1980010100011"
    )
    fidu = factories.space(fidu_user, name="Fiduciaire", company_name="Fiduciaire SA", identifier="B654321")
    return SimpleNamespace(
        lea=lea,
        guichet=guichet,
        fidu_user=fidu_user,
        fidu=fidu,
        acd=Service.get(slug="fiches-retenue"),
        lbr=Service.get(slug="sources-authentiques"),
        alva=Service.get(slug="securite-alimentaire"),
    )


def member(user, space):
    return spaces.membership_for(user, space.id)


def make_holder(world, admin="ACD", slug="fiches-retenue"):
    """Guichet becomes holder for the service, through the service layer."""
    _code_row, code = factories.access_code(admin, slug, "B123456", "holder")
    return access_codes.redeem_holder_code(member(world.lea, world.guichet), world.lea, code)


def grant(world, service=None, days=90, note="Fiduciaire"):
    return mandates.grant_mandate(
        member(world.lea, world.guichet),
        world.lea,
        (service or world.acd).id,
        clock.now().date() + timedelta(days=days),
        note,
    )


# --- Mandat principal: the holder code card -----------------------------------------------------


def gestion_url(space, code="ACD"):
    return f"/espaces/{space.id}/certifications/administrations/{code}"


@pytest.fixture
def holder(client, world):
    """Léa logged in on the Gestion page of the ACD, a holder code for her company at hand."""
    _row, code = factories.access_code("ACD", "fiches-retenue", "B123456", "holder")
    log_in(client, world.lea)
    page = client.get(gestion_url(world.guichet))
    assert page.status_code == 200
    body = text(page)
    assert "Mandat principal" in body and 'id="holder-code-card"' in body
    world.code = code
    world.token = csrf_token(page.get_data(as_text=True))
    world.post = lambda code, headers=None: client.post(
        gestion_url(world.guichet) + "/code",
        data={"code": code, "csrf_token": world.token},
        headers=headers or {},
    )
    world.card_id, world.heading = "holder-code-card", "Mandat principal"
    world.url = gestion_url(world.guichet)
    world.success = "L'espace est certifié pour le service « Fiches de retenue d'impôt »."
    world.listed = "Titulaire jusqu'au"
    world.certifications = lambda: holder_certifications(world.guichet)
    return world


def holder_certifications(space):
    return list(Certification.select().where(Certification.space == space.id, Certification.kind == "holder"))


def test_holder_code_htmx_swaps_the_card_with_the_success(holder):
    response = holder.post(undashed_lower(holder.code), HTMX)  # no dashes, lower case
    assert response.status_code == 200
    body = text(response)
    assert is_partial(body, "holder-code-card")
    assert "L'espace est certifié pour le service « Fiches de retenue d'impôt »." in card(
        body, "holder-code-card"
    )
    assert "HX-Request" in response.headers["Vary"]
    [certification] = holder_certifications(holder.guichet)
    assert certification.service_id == holder.acd.id and certification.company_identifier == "B123456"


def test_holder_code_boosted_gets_full_pages(client, holder):
    refused = holder.post("2222-2222-2222-2222-2222", BOOSTED)
    assert refused.status_code == 422
    assert "<html" in text(refused) and GENERIC in card(text(refused), "holder-code-card")
    accepted = holder.post(holder.code, BOOSTED)
    assert accepted.status_code == 303 and accepted.headers["Location"] == gestion_url(holder.guichet)
    assert "L'espace est certifié" in text(client.get(accepted.headers["Location"], headers=BOOSTED))


def test_holder_code_is_single_use_and_one_holder_per_service(holder):
    assert holder.post(holder.code, HTMX).status_code == 200
    again = holder.post(holder.code, HTMX)
    assert again.status_code == 422 and GENERIC in card(text(again), "holder-code-card")
    _row, second = factories.access_code("ACD", "fiches-retenue", "B123456", "holder")
    twice = holder.post(second, HTMX)
    assert twice.status_code == 409
    assert "déjà certifié comme titulaire" in card(text(twice), "holder-code-card")
    assert len(holder_certifications(holder.guichet)) == 1


def test_holder_code_after_its_activation_deadline_is_refused(client, holder, clock):
    clock.advance(days=31)
    log_in(client, holder.lea)  # the session of a month ago has ended
    response = holder.post(holder.code, HTMX)
    assert response.status_code == 422 and GENERIC in card(text(response), "holder-code-card")
    assert holder_certifications(holder.guichet) == []


def wrong_ten_times(post):
    for attempt in range(10):
        response = post("2222-2222-2222-2222-2222", HTMX)
        assert response.status_code == 422, attempt


def test_a_hundred_consecutive_wrong_codes_lock_code_entry(client, holder, clock):
    for _window in range(10):
        wrong_ten_times(holder.post)
        clock.advance(minutes=15, seconds=1)
        log_in(client, holder.lea)  # hours go by: a fresh session, the same account
    response = holder.post(holder.code, HTMX)
    assert response.status_code == 423
    assert "Contactez le Helpdesk" in card(text(response), "holder-code-card")
    clock.advance(hours=2)
    log_in(client, holder.lea)
    assert holder.post(holder.code, HTMX).status_code == 423
    assert holder_certifications(holder.guichet) == []


def test_a_reader_cannot_enter_a_holder_code(client, world):
    _row, code = factories.access_code("ACD", "fiches-retenue", "B123456", "holder")
    zoe = factories.user("zoe", email="zoe@example.lu")
    factories.member(world.guichet, zoe, "reader")
    log_in(client, zoe)
    page = client.get(gestion_url(world.guichet))
    assert 'id="holder-code-card"' not in text(page)
    response = client.post(
        gestion_url(world.guichet) + "/code",
        data={"code": code, "csrf_token": csrf_token(page.get_data(as_text=True))},
        headers=HTMX,
    )
    assert response.status_code == 403
    assert holder_certifications(world.guichet) == []


def test_unknown_administration_is_not_found(client, world):
    log_in(client, world.lea)
    assert client.get(gestion_url(world.guichet, "XYZ")).status_code == 404


# --- Mandats obtenus: the proxy code card ---------------------------------------------------------


def obtained_url(space):
    return f"/espaces/{space.id}/mandats-obtenus"


@pytest.fixture
def proxy(client, world):
    """Guichet is holder and has dispensed a mandate; the fiduciary is logged in on Mandats obtenus."""
    make_holder(world)
    world.mandate, world.code = grant(world)
    log_in(client, world.fidu_user)
    page = client.get(obtained_url(world.fidu))
    assert page.status_code == 200 and 'id="proxy-code-card"' in text(page)
    world.token = csrf_token(page.get_data(as_text=True))
    world.post = lambda code, headers=None: client.post(
        obtained_url(world.fidu), data={"code": code, "csrf_token": world.token}, headers=headers or {}
    )
    world.card_id, world.heading = "proxy-code-card", "Mandats obtenus"
    world.url = obtained_url(world.fidu)
    world.success = SUCCESS_PROXY
    world.listed = "B123456"
    world.certifications = lambda: proxy_certifications(world.fidu)
    return world


def proxy_certifications(space):
    return list(Certification.select().where(Certification.space == space.id, Certification.kind == "proxy"))


SUCCESS_PROXY = "Accès ajouté : Guichet SARL, service « Fiches de retenue d'impôt »."


def test_proxy_code_htmx_redirects_to_the_list_with_the_new_mandate(client, proxy):
    response = proxy.post(undashed_lower(proxy.code), HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == obtained_url(proxy.fidu)
    page = text(client.get(obtained_url(proxy.fidu)))
    assert SUCCESS_PROXY in page and "B123456" in page
    [certification] = proxy_certifications(proxy.fidu)
    assert mandates.mandate_of_certification(certification).id == proxy.mandate.id
    assert Mandate.get_by_id(proxy.mandate.id).mandatary_space_id == proxy.fidu.id


def test_proxy_code_boosted(client, proxy):
    refused = proxy.post("2222-2222-2222-2222-2222", BOOSTED)
    assert refused.status_code == 422
    assert "<html" in text(refused) and GENERIC in card(text(refused), "proxy-code-card")
    accepted = proxy.post(proxy.code, BOOSTED)
    # htmx follows HX-Redirect with a full load, as a boosted form wants.
    assert accepted.status_code in (200, 303)
    location = accepted.headers.get("HX-Redirect") or accepted.headers["Location"]
    assert location == obtained_url(proxy.fidu)
    assert len(proxy_certifications(proxy.fidu)) == 1


def test_proxy_code_is_single_use(client, proxy):
    assert proxy.post(proxy.code, HTMX).status_code == 200
    other = factories.user("eve", email="eve@example.lu")
    eve_space = factories.space(other, name="Chez Eve", company_name="Eve SA", identifier="B111111")
    log_in(client, other)
    token = csrf_token(client.get(obtained_url(eve_space)).get_data(as_text=True))
    response = client.post(
        obtained_url(eve_space), data={"code": proxy.code, "csrf_token": token}, headers=HTMX
    )
    assert response.status_code == 422 and GENERIC in card(text(response), "proxy-code-card")
    assert proxy_certifications(eve_space) == []


def test_the_mandant_cannot_take_its_own_mandate_and_the_code_stays_usable(client, proxy):
    log_in(client, proxy.lea)
    token = csrf_token(client.get(obtained_url(proxy.guichet)).get_data(as_text=True))
    response = client.post(
        obtained_url(proxy.guichet), data={"code": proxy.code, "csrf_token": token}, headers=HTMX
    )
    assert response.status_code == 422
    assert "ne peut pas obtenir le mandat qu'il a lui-même dispensé" in card(
        text(response), "proxy-code-card"
    )
    assert proxy_certifications(proxy.guichet) == []
    log_in(client, proxy.fidu_user)
    assert proxy.post(proxy.code, HTMX).status_code == 200


# --- Both code cards ------------------------------------------------------------------------------


@pytest.fixture(params=["holder", "proxy"])
def code_card(request):
    """Each code card in turn, on its page: the holder's (Mandat principal) and the proxy's
    (Mandats obtenus). Both take `.code` and answer a wrong one in the card alike."""
    return request.getfixturevalue(request.param)


WRONG_CODES = {
    "too-short": lambda: "1234",
    "unknown": lambda: "2222-2222-2222-2222-2222",
    "another-company": lambda: factories.access_code("ACD", "fiches-retenue", "B654321", "holder")[1],
    "another-administration": lambda: factories.access_code(
        "LBR", "sources-authentiques", "B123456", "holder"
    )[1],
    "proxy-code": lambda: factories.access_code("ACD", "fiches-retenue", "B123456", "proxy")[1],
}


# An administration's proxy code for the company is what the proxy card takes: wrong for the holder card only.
@pytest.mark.parametrize(
    "card_fixture, wrong",
    [("holder", wrong) for wrong in WRONG_CODES]
    + [("proxy", wrong) for wrong in WRONG_CODES if wrong != "proxy-code"],
)
def test_wrong_code_htmx_shows_the_one_message_inside_the_card(request, card_fixture, wrong):
    cards = request.getfixturevalue(card_fixture)
    code = WRONG_CODES[wrong]()
    before = fingerprint()
    response = cards.post(code, HTMX)
    assert response.status_code == 422
    body = text(response)
    assert is_partial(body, cards.card_id)
    inside = card(body, cards.card_id)
    assert GENERIC in inside and 'role="alert"' in inside
    assert "L'espace est certifié" not in body and "HX-Redirect" not in response.headers
    assert fingerprint() == before


def test_code_plain_post_redirects_to_its_page_with_the_flash(client, code_card):
    response = code_card.post(code_card.code)
    assert response.status_code == 303
    assert response.headers["Location"] == code_card.url
    page = text(client.get(response.headers["Location"]))
    assert code_card.success in page and code_card.listed in page
    assert len(code_card.certifications()) == 1


def test_wrong_code_plain_post_is_the_full_page_with_the_error(code_card):
    before = fingerprint()
    response = code_card.post("2222-2222-2222-2222-2222")
    assert response.status_code == 422
    body = text(response)
    assert "<html" in body and code_card.heading in body
    assert GENERIC in card(body, code_card.card_id)
    assert fingerprint() == before


def test_ten_wrong_codes_then_429_with_the_wait_in_the_card(code_card, clock):
    wrong_ten_times(code_card.post)
    response = code_card.post(code_card.code, HTMX)  # even the right code waits
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "900"
    body = text(response)
    assert is_partial(body, code_card.card_id)
    inside = card(body, code_card.card_id)
    assert "Trop de tentatives erronées. Veuillez réessayer dans 15 minutes." in inside
    assert code_card.certifications() == []

    clock.advance(minutes=15, seconds=1)
    assert code_card.post(code_card.code, HTMX).status_code == 200
    assert len(code_card.certifications()) == 1


def test_ten_wrong_codes_then_429_plain_page_with_the_wait(code_card):
    wrong_ten_times(code_card.post)
    response = code_card.post(code_card.code)
    assert response.status_code == 429
    assert response.headers.get("Retry-After") == "900"
    body = text(response)
    assert "<html" in body
    assert "Veuillez réessayer dans 15 minutes." in card(body, code_card.card_id)


# --- Dispenser un mandat, its letter, Révoquer --------------------------------------------------------


def granted_url(space):
    return f"/espaces/{space.id}/mandats-dispenses"


def letter_url(space, mandate_id):
    return f"{granted_url(space)}/{mandate_id}/courrier.pdf"


def revoke_url(space, mandate_id):
    return f"/espaces/{space.id}/mandats/{mandate_id}/revoquer"


@pytest.fixture
def mandant(client, world):
    make_holder(world)
    log_in(client, world.lea)
    page = client.get(granted_url(world.guichet))
    assert page.status_code == 200 and "Dispenser un mandat" in text(page)
    world.token = csrf_token(page.get_data(as_text=True))
    return world


def dispense(client, world, **fields):
    data = {"service": world.acd.id, "ends_on": "2026-09-30", "note": "Fiduciaire SA", **fields}
    return client.post(granted_url(world.guichet), data={**data, "csrf_token": world.token})


def test_dispense_a_mandate_shows_the_code_once(client, mandant):
    response = dispense(client, mandant)
    assert response.status_code == 200
    body = text(response)
    [code] = CODE_FORMAT.findall(body)
    assert "Notez ce code maintenant : il ne sera plus affiché." in body
    [mandate] = Mandate.select()
    assert mandate.mandant_space_id == mandant.guichet.id and mandate.note == "Fiduciaire SA"
    assert mandate.ends_at.date() == date(2026, 9, 30)
    assert AccessCode.get_by_id(mandate.access_code_id).code_hash == crypto.keyed_hash(
        "access-code", crypto.normalize_code(code)
    )

    listing = text(client.get(granted_url(mandant.guichet)))
    assert "Fiduciaire SA" in listing and "En attente" in listing
    assert code not in listing and not CODE_FORMAT.search(listing)


def test_dispense_refuses_an_end_after_the_holder_s_own(client, mandant):
    response = dispense(client, mandant, ends_on="2028-01-01")
    assert response.status_code == 422
    assert "ne peut pas dépasser celle de votre certification" in text(response)
    assert Mandate.select().count() == 0


def test_dispense_accepts_the_holder_s_own_end_date(client, mandant):
    """The form's hint says "Au plus tard la date de fin de votre propre certification": that
    very date is allowed (the mandate then ends with the certification)."""
    holder_end = holder_certifications(mandant.guichet)[0].ends_at
    response = dispense(client, mandant, ends_on=holder_end.date().isoformat())
    assert response.status_code == 200, re.findall(r"ne peut pas dépasser[^<]*", text(response))
    [mandate] = Mandate.select()
    assert mandate.ends_at <= holder_end


@pytest.mark.parametrize(
    "fields",
    [{"service": "0"}, {"ends_on": ""}, {"service": "{lbr}"}],
    ids=["no-service", "no-end", "service-not-held"],
)
def test_dispense_refuses_incomplete_or_not_held(client, mandant, fields):
    fields = {k: v.format(lbr=mandant.lbr.id) for k, v in fields.items()}
    response = dispense(client, mandant, **fields)
    assert response.status_code == 422
    assert "<html" in text(response) and "Veuillez corriger les erreurs suivantes" in text(response)
    assert (
        Mandate.select().count() == 0 and AccessCode.select().where(AccessCode.kind == "proxy").count() == 0
    )


def test_dispense_needs_a_holder_certification(client, world):
    log_in(client, world.lea)
    page = text(client.get(granted_url(world.guichet)))
    assert "l'espace doit d'abord être certifié comme titulaire" in page
    token = csrf_token(client.get(granted_url(world.guichet)).get_data(as_text=True))
    response = client.post(
        granted_url(world.guichet),
        data={"service": world.acd.id, "ends_on": "2026-09-30", "csrf_token": token},
    )
    assert response.status_code == 422 and Mandate.select().count() == 0


def test_the_letter_is_a_pdf_while_pending_then_not_found(client, mandant):
    mandate, _code = grant(mandant)
    response = client.get(letter_url(mandant.guichet, mandate.id))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert response.headers["Cache-Control"] == "no-store"
    assert "Courrier (PDF)" in text(client.get(granted_url(mandant.guichet)))

    response = client.post(revoke_url(mandant.guichet, mandate.id), data={"csrf_token": mandant.token})
    assert response.status_code == 303
    assert client.get(letter_url(mandant.guichet, mandate.id)).status_code == 404
    assert Letter.get_by_id(mandate.letter_id).code_encrypted is None


def test_the_letter_is_not_found_once_the_mandate_is_taken_up(client, mandant):
    mandate, code = grant(mandant)
    access_codes.redeem_proxy_code(member(mandant.fidu_user, mandant.fidu), mandant.fidu_user, code)
    assert client.get(letter_url(mandant.guichet, mandate.id)).status_code == 404


def test_the_mandant_revokes_three_ways_and_access_ends_at_once(client, app, mandant):
    service_url = f"/espaces/{mandant.fidu.id}/services/fiches-retenue"
    fidu_client = app.test_client()
    log_in(fidu_client, mandant.fidu_user)
    for headers, expected in [(HTMX, 200), ({}, 303), (BOOSTED, 200)]:
        mandate, code = grant(mandant)
        access_codes.redeem_proxy_code(member(mandant.fidu_user, mandant.fidu), mandant.fidu_user, code)
        assert fidu_client.get(service_url).status_code == 200
        response = client.post(
            revoke_url(mandant.guichet, mandate.id), data={"csrf_token": mandant.token}, headers=headers
        )
        assert response.status_code == expected
        location = response.headers.get("HX-Redirect") or response.headers["Location"]
        assert location == granted_url(mandant.guichet)
        assert Mandate.get_by_id(mandate.id).revoked_at is not None
        obtained = Certification.select().where(Certification.access_code == mandate.access_code_id)
        assert all(c.revoked_at for c in obtained)
        assert fidu_client.get(service_url).status_code == 403
    page = text(client.get(granted_url(mandant.guichet)))
    assert "Le mandat pour Guichet SARL est révoqué." in page and "Révoqué" in page


def test_the_mandatary_revokes_too(client, world):
    make_holder(world)
    mandate, code = grant(world)
    access_codes.redeem_proxy_code(member(world.fidu_user, world.fidu), world.fidu_user, code)
    log_in(client, world.fidu_user)
    page = client.get(obtained_url(world.fidu))
    assert "Révoquer" in text(page)
    response = client.post(
        revoke_url(world.fidu, mandate.id), data={"csrf_token": csrf_token(page.get_data(as_text=True))}
    )
    assert response.status_code == 303 and response.headers["Location"] == obtained_url(world.fidu)
    assert "Le mandat pour Guichet SARL est révoqué." in text(client.get(obtained_url(world.fidu)))
    assert Mandate.get_by_id(mandate.id).revoked_at is not None
    again = client.post(
        revoke_url(world.fidu, mandate.id), data={"csrf_token": csrf_token(page.get_data(as_text=True))}
    )
    assert again.status_code == 422 and "déjà révoqué" in text(again)


def test_revoke_needs_the_csrf_token(client, mandant):
    mandate, _code = grant(mandant)
    response = client.post(revoke_url(mandant.guichet, mandate.id))
    assert response.status_code == 400
    assert Mandate.get_by_id(mandate.id).revoked_at is None


def revoke_obtained_url(space, certification_id):
    return f"{obtained_url(space)}/{certification_id}/revoquer"


def test_the_mandatary_revokes_a_mandate_obtained_from_an_administration_s_proxy_code(client, world):
    """ "Vous pouvez également révoquer les mandats obtenus à tout moment", whatever
    gave them: an administration's proxy code makes no mandate, the certification ends."""
    _row, code = factories.access_code("LBR", "sources-authentiques", "B123456", "proxy")
    obtained = access_codes.redeem_proxy_code(member(world.fidu_user, world.fidu), world.fidu_user, code)
    assert mandates.mandate_of_certification(obtained) is None
    log_in(client, world.fidu_user)
    assert client.get(service_url(world.fidu)).status_code == 200
    page = client.get(obtained_url(world.fidu)).get_data(as_text=True)
    assert f'href="{revoke_obtained_url(world.fidu, obtained.id)}"' in page

    response = client.post(
        revoke_obtained_url(world.fidu, obtained.id), data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 303 and response.headers["Location"] == obtained_url(world.fidu)
    assert Certification.get_by_id(obtained.id).revoked_at is not None
    listed = text(client.get(obtained_url(world.fidu)))
    assert "Le mandat pour Guichet SARL est révoqué." in listed and "Révoqué" in listed
    assert client.get(service_url(world.fidu)).status_code == 403
    assert (
        AuditEntry.get(AuditEntry.action == "certification.proxy_revoked").details["certification_id"]
        == obtained.id
    )
    again = client.post(revoke_obtained_url(world.fidu, obtained.id), data={"csrf_token": csrf_token(page)})
    assert again.status_code == 422 and "déjà révoqué" in text(again)


def test_the_mandatary_revokes_a_holder_space_s_mandate_from_its_list_for_both_sides(client, world):
    make_holder(world)
    mandate, code = grant(world)
    obtained = access_codes.redeem_proxy_code(member(world.fidu_user, world.fidu), world.fidu_user, code)
    log_in(client, world.fidu_user)
    page = client.get(obtained_url(world.fidu)).get_data(as_text=True)
    assert f'href="{revoke_obtained_url(world.fidu, obtained.id)}"' in page
    response = client.post(
        revoke_obtained_url(world.fidu, obtained.id), data={"csrf_token": csrf_token(page)}, headers=HTMX
    )
    assert response.status_code == 200 and response.headers["HX-Redirect"] == obtained_url(world.fidu)
    assert Mandate.get_by_id(mandate.id).revoked_at is not None  # the mandant's list says so too
    assert Certification.get_by_id(obtained.id).revoked_at is not None


def test_only_the_space_s_own_proxy_certifications_can_be_revoked(client, world):
    """Another space's certification, or one's own holder certification, is not found."""
    holder = make_holder(world)
    _row, code = factories.access_code("LBR", "sources-authentiques", "B123456", "proxy")
    obtained = access_codes.redeem_proxy_code(member(world.fidu_user, world.fidu), world.fidu_user, code)
    log_in(client, world.lea)
    token = csrf_token(client.get(obtained_url(world.guichet)).get_data(as_text=True))
    before = fingerprint()
    for certification in (obtained, holder):
        assert client.get(revoke_obtained_url(world.guichet, certification.id)).status_code == 404
        assert (
            client.post(
                revoke_obtained_url(world.guichet, certification.id), data={"csrf_token": token}
            ).status_code
            == 404
        )
    assert fingerprint() == before


@pytest.mark.parametrize(
    "headers, partial", [({}, False), (HTMX, True), (BOOSTED, False)], ids=["plain", "htmx", "boosted"]
)
def test_revoking_asks_first_and_the_question_changes_nothing(client, mandant, headers, partial):
    """The list links to a confirmation (a page, or the question alone for htmx, swapped in
    place of the link); only its Confirmer posts."""
    mandate, _code = grant(mandant)
    listed = client.get(granted_url(mandant.guichet)).get_data(as_text=True)
    assert f'href="{revoke_url(mandant.guichet, mandate.id)}"' in listed
    assert f'action="{revoke_url(mandant.guichet, mandate.id)}"' not in listed  # no one-click revocation
    before = fingerprint()
    response = client.get(revoke_url(mandant.guichet, mandate.id), headers=headers)
    body = text(response)
    assert response.status_code == 200 and fingerprint() == before
    assert "Révoquer le mandat pour Guichet SARL, service « Fiches de retenue d'impôt » ?" in body
    assert f'<form action="{revoke_url(mandant.guichet, mandate.id)}" method="post"' in body
    assert f'href="{granted_url(mandant.guichet)}"' in body  # Annuler
    assert (
        "<html" not in body
        and body.strip().startswith(f'<div class="notice notice-warning" id="confirm-mandate-{mandate.id}"')
    ) == partial
    assert "HX-Request" in response.headers["Vary"]


# --- Other spaces' ids --------------------------------------------------------------------------------


def test_another_space_mandates_and_letters_are_not_found(client, world):
    """Eve, admin and holder in her own space, reaches neither Guichet's mandates nor their
    letters through her space's URLs; the mandatary cannot fetch the mandant's letter."""
    make_holder(world)
    pending, _ = grant(world)
    taken, code = grant(world)
    access_codes.redeem_proxy_code(member(world.fidu_user, world.fidu), world.fidu_user, code)
    eve = factories.user("eve", email="eve@example.lu")
    eve_space = factories.space(eve, name="Chez Eve", company_name="Eve SA", identifier="B111111")
    _row, eve_code = factories.access_code("ACD", "fiches-retenue", "B111111", "holder")
    access_codes.redeem_holder_code(member(eve, eve_space), eve, eve_code)

    log_in(client, eve)
    token = csrf_token(client.get(granted_url(eve_space)).get_data(as_text=True))
    before = fingerprint()
    for mandate in (pending, taken):
        assert client.get(letter_url(eve_space, mandate.id)).status_code == 404
        assert client.post(revoke_url(eve_space, mandate.id), data={"csrf_token": token}).status_code == 404
        assert (
            client.post(
                revoke_url(eve_space, mandate.id), data={"csrf_token": token}, headers=HTMX
            ).status_code
            == 404
        )
        assert client.get(letter_url(world.guichet, mandate.id)).status_code == 404  # not a member
    assert fingerprint() == before

    log_in(client, world.fidu_user)
    assert client.get(letter_url(world.fidu, pending.id)).status_code == 404
    assert client.get(letter_url(world.fidu, taken.id)).status_code == 404
    token = csrf_token(client.get(obtained_url(world.fidu)).get_data(as_text=True))
    assert client.post(revoke_url(world.fidu, pending.id), data={"csrf_token": token}).status_code == 404
    assert fingerprint() == before


# --- The guard of a certified service ---------------------------------------------------------------


def service_url(space, slug="sources-authentiques"):
    return f"/espaces/{space.id}/services/{slug}"


def test_an_uncertified_space_is_refused_with_the_way_to_get_certified(client, world):
    log_in(client, world.lea)
    for headers in ({}, HTMX):
        response = client.get(service_url(world.guichet), headers=headers)
        assert response.status_code == 403
        body = text(response)
        assert (
            "« Consultation des sources authentiques » n'est accessible qu'à un espace professionnel certifié"
            in body
        )
        assert f'href="{gestion_url(world.guichet, "LBR")}"' in body
        assert f'href="{obtained_url(world.guichet)}"' in body
        assert "Immatriculée le" not in body
    assert client.get(service_url(world.guichet, "pas-un-service")).status_code == 404


def test_the_holder_sees_its_company(client, world):
    make_holder(world, "LBR", "sources-authentiques")
    log_in(client, world.lea)
    response = client.get(service_url(world.guichet))
    assert response.status_code == 200
    body = text(response)
    assert "Guichet SARL" in body and "B123456" in body and "Immatriculée le" in body and "titulaire" in body


def test_a_certified_service_offers_its_procedures(client, world):
    factories.demo_procedures()
    make_holder(world)
    log_in(client, world.lea)
    body = text(client.get(service_url(world.guichet, "fiches-retenue")))
    assert "Fiches de retenue d'impôt : demande de fiches" in body
    assert f'action="/espaces/{world.guichet.id}/demarches/acd-fiches-retenue"' in body
    assert "Élections sociales" not in body  # another service's procedure
    assert "pas encore disponibles" not in body


def test_through_a_mandate_the_mandatary_sees_the_principal_until_revoked(client, world):
    make_holder(world, "LBR", "sources-authentiques")
    log_in(client, world.fidu_user)
    assert client.get(service_url(world.fidu)).status_code == 403
    mandate, code = grant(world, service=world.lbr)
    access_codes.redeem_proxy_code(member(world.fidu_user, world.fidu), world.fidu_user, code)
    response = client.get(service_url(world.fidu))
    assert response.status_code == 200
    body = text(response)
    assert "Guichet SARL" in body and "B123456" in body and "par mandat" in body
    assert "Fiduciaire SA" not in body and "B654321" not in body  # the principal, not itself
    mandates.revoke_mandate(member(world.lea, world.guichet), world.lea, mandate.id)
    assert client.get(service_url(world.fidu)).status_code == 403
    assert "Révoqué" in text(client.get(obtained_url(world.fidu), headers=HTMX))
    assert client.get(service_url(world.fidu), headers=HTMX).status_code == 403


def test_an_expired_mandate_gives_no_access(client, world, clock):
    make_holder(world, "LBR", "sources-authentiques")
    _mandate, code = grant(world, service=world.lbr, days=10)
    access_codes.redeem_proxy_code(member(world.fidu_user, world.fidu), world.fidu_user, code)
    log_in(client, world.fidu_user)
    assert client.get(service_url(world.fidu)).status_code == 200
    clock.advance(days=11)
    log_in(client, world.fidu_user)  # the session of 11 days ago has ended
    assert client.get(service_url(world.fidu)).status_code == 403


# --- Search, pagination, query budgets -----------------------------------------------------------------


COMPANIES = [
    ("Boulangerie du Marché", "B100001"),
    ("Garage Central", "B100002"),
    ("Boucherie Lux", "B100003"),
]


def add_proxy_certifications(space, service, rows):
    Certification.insert_many(
        [
            {
                "space": space.id,
                "service": service.id,
                "kind": "proxy",
                "company_name": name,
                "company_identifier": identifier,
                "ends_at": clock.now() + timedelta(days=30),
            }
            for name, identifier in rows
        ]
    ).execute()


@pytest.mark.parametrize(
    "query, shown",
    [
        ("boulangerie", ["Boulangerie du Marché"]),
        ("B10000", [n for n, _ in COMPANIES]),
        ("100002", ["Garage Central"]),
        ("Bou", ["Boulangerie du Marché", "Boucherie Lux"]),
    ],
)
def test_mandates_obtained_search_by_name_or_identifier(client, world, query, shown):
    add_proxy_certifications(world.fidu, world.acd, COMPANIES)
    log_in(client, world.fidu_user)
    response = client.get(f"{obtained_url(world.fidu)}?q={query}", headers=HTMX)
    assert response.status_code == 200
    body = text(response)
    assert "<html" not in body and body.lstrip().startswith('<div id="space-tab"')
    for name, _identifier in COMPANIES:
        assert (name in body) == (name in shown), name
    plain = text(client.get(f"{obtained_url(world.fidu)}?q={query}"))
    assert "<html" in plain and all(name in plain for name in shown)


def test_mandates_obtained_search_without_match(client, world):
    add_proxy_certifications(world.fidu, world.acd, COMPANIES)
    log_in(client, world.fidu_user)
    body = text(client.get(f"{obtained_url(world.fidu)}?q=zzz", headers=HTMX))
    assert "Aucun mandat ne correspond à votre recherche." in body


def test_mandates_granted_search(client, world):
    make_holder(world)
    grant(world, note="Fiduciaire Alpha")
    grant(world, note="Cabinet Beta")
    log_in(client, world.lea)
    body = text(client.get(f"{granted_url(world.guichet)}?q=beta", headers=HTMX))
    assert "Cabinet Beta" in body and "Fiduciaire Alpha" not in body


def rows(body):
    return re.findall(r"<td>(Client \d+) <span", body)


def test_mandates_obtained_pagination(client, world):
    size = PAGE_SIZE
    add_proxy_certifications(
        world.fidu, world.acd, [(f"Client {i:03d}", f"B2{i:05d}") for i in range(size + 3)]
    )
    log_in(client, world.fidu_user)
    first = text(client.get(obtained_url(world.fidu), headers=HTMX))
    assert len(rows(first)) == size and "Page 1 sur 2" in first and 'rel="next"' in first
    second = text(client.get(f"{obtained_url(world.fidu)}?page=2", headers=HTMX))
    assert len(rows(second)) == 3 and "Page 2 sur 2" in second and 'rel="prev"' in second
    assert not set(rows(first)) & set(rows(second))
    searched = text(client.get(obtained_url(world.fidu), query_string={"q": "Client 00"}, headers=HTMX))
    assert sorted(rows(searched)) == [f"Client {i:03d}" for i in range(10)] and "Page 1 sur" not in searched


def bulk(model, rows):
    """insert_many in chunks that stay under the databases' bound-parameter limits."""
    for chunk in chunked(rows, 500):
        model.insert_many(chunk).execute()


def grow_obtained(world):
    def grow(n):
        have = Certification.select().where(Certification.space == world.fidu.id).count()
        services = [world.acd, world.lbr, world.alva]
        bulk(
            Certification,
            [
                {
                    "space": world.fidu.id,
                    "service": services[i % 3].id,
                    "kind": "proxy",
                    "company_name": f"Client {i}",
                    "company_identifier": f"B{300000 + i}",
                    "ends_at": clock.now() + timedelta(days=30 if i % 2 else -1),
                }
                for i in range(have, n)
            ],
        )

    return grow


def grow_granted(world):
    def grow(n):
        have = Mandate.select().join(AccessCode).where(AccessCode.issued_by_space == world.guichet.id).count()
        now = clock.now()
        prefix = f"bulk-{world.guichet.id}-"
        bulk(
            AccessCode,
            [
                {
                    "code_hash": f"{prefix}{i}",
                    "kind": "proxy",
                    "service": world.acd.id,
                    "company_identifier": "B123456",
                    "company_name": "Guichet SARL",
                    "issued_by_space": world.guichet.id,
                    "activation_deadline": now + timedelta(days=30),
                    "ends_at": now + timedelta(days=90),
                    "redeemed_in": world.fidu.id if i % 2 else None,
                    "redeemed_at": now if i % 2 else None,
                    "revoked_at": now if i % 5 == 0 else None,
                }
                for i in range(have, n)
            ],
        )
        codes = dict(
            AccessCode.select(AccessCode.code_hash, AccessCode.id)
            .where(AccessCode.code_hash.startswith(prefix))
            .tuples()
        )
        bulk(
            Mandate,
            [{"access_code": codes[f"{prefix}{i}"], "note": f"Mandataire {i}"} for i in range(have, n)],
        )

    return grow


def grow_space_certifications(world):
    def grow(n):
        have = Certification.select().where(Certification.space == world.guichet.id).count()
        services = [world.acd, world.lbr, world.alva]
        bulk(
            Certification,
            [
                {
                    "space": world.guichet.id,
                    "service": services[i % 3].id,
                    "kind": "proxy",
                    "company_name": f"Société {i}",
                    "company_identifier": f"B{400000 + i}",
                    "ends_at": None if i % 3 else clock.now() + timedelta(days=30),
                    "revoked_at": clock.now() if i % 7 == 0 else None,
                }
                for i in range(have, n)
            ],
        )
        bulk(
            CertificationRequest,
            [
                {
                    "space": world.guichet.id,
                    "service": world.alva.id,
                    "reason": f"Demande {i}",
                    "status": "rejected",
                    "decision_reason": "Non",
                }
                for i in range(have, min(n, have + 30))
            ],
        )

    return grow


@pytest.mark.parametrize(
    "page, grow",
    [
        ("mandats-obtenus", grow_obtained),
        ("mandats-dispenses", grow_granted),
        ("certifications", grow_space_certifications),
    ],
)
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_lists_keep_a_constant_query_count(client, world, page, grow, headers):
    make_holder(world)  # so Mandats dispensés shows its form, the holder row on Certifications
    user, space = (world.fidu_user, world.fidu) if page == "mandats-obtenus" else (world.lea, world.guichet)
    log_in(client, user)
    assert_constant_queries(
        client, f"/espaces/{space.id}/{page}", grow(world), small=10, large=2000, headers=headers
    )
    listed = {
        "mandats-obtenus": Certification.select().where(Certification.space == world.fidu.id),
        "mandats-dispenses": Mandate.select()
        .join(AccessCode)
        .where(AccessCode.issued_by_space == world.guichet.id),
        "certifications": Certification.select().where(Certification.space == world.guichet.id),
    }[page]
    assert listed.count() == 2000


# --- Back-office: online requests ----------------------------------------------------------------------


@pytest.fixture
def agent_client(app, world):
    agents.create_agent("ALVA", "agent.alva", "Agent Alva", "agent@alva.lu", AGENT_PASSWORD)
    return app.test_client()


def file_request(client, world, reason="Nous exploitons une boulangerie à Luxembourg."):
    log_in(client, world.lea)
    token = csrf_token(client.get(gestion_url(world.guichet, "ALVA")).get_data(as_text=True))
    return client.post(
        gestion_url(world.guichet, "ALVA") + "/demande",
        data={"service": world.alva.id, "reason": reason, "csrf_token": token},
    )


def test_back_office_needs_an_agent(agent_client):
    response = agent_client.get("/back-office")
    assert response.status_code == 303 and response.headers["Location"] == "/back-office/connexion"
    response = agent_client.get("/back-office", headers=HTMX)
    assert response.headers["HX-Redirect"] == "/back-office/connexion"


def test_agent_login_refuses_a_wrong_password(agent_client):
    response = agent_log_in(agent_client, password="not the right password")
    assert response.status_code == 401
    assert "UserID ou mot de passe incorrect." in text(response)
    assert agent_client.get("/back-office").status_code == 303


def test_request_is_filed_then_approved(client, agent_client, world):
    response = file_request(client, world)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/espaces/{world.guichet.id}/certifications"
    page = text(client.get(response.headers["Location"]))
    assert "Votre demande de certification est transmise à l'administration." in page and "En attente" in page
    [filed] = CertificationRequest.select()

    login = agent_log_in(agent_client)
    assert login.status_code == 303 and login.headers["Location"] == "/back-office"
    listing = agent_client.get("/back-office")
    body = text(listing)
    assert listing.status_code == 200
    assert "Guichet SARL" in body and "B123456" in body and "Nous exploitons une boulangerie" in body
    token = csrf_token(listing.get_data(as_text=True))
    decided = agent_client.post(
        f"/back-office/demandes/{filed.id}", data={"decision": "approve", "csrf_token": token}
    )
    assert decided.status_code == 303
    after = text(agent_client.get("/back-office"))
    assert "Demande approuvée : l'espace est certifié." in after and "Aucune demande en attente." in after

    [certification] = holder_certifications(world.guichet)
    assert certification.service_id == world.alva.id and certification.company_identifier == "B123456"
    assert CertificationRequest.get_by_id(filed.id).status == "approved"
    assert client.get(service_url(world.guichet, "securite-alimentaire")).status_code == 200
    again = agent_client.post(
        f"/back-office/demandes/{filed.id}",
        data={"decision": "reject", "reason": "Non.", "csrf_token": token},
    )
    assert again.status_code == 303 and "Cette demande a déjà été traitée." in text(
        agent_client.get("/back-office")
    )
    assert CertificationRequest.get_by_id(filed.id).status == "approved"
    assert "Approuvée" in text(client.get(f"/espaces/{world.guichet.id}/certifications"))


def test_reject_needs_a_reason(client, agent_client, world):
    file_request(client, world)
    [filed] = CertificationRequest.select()
    agent_log_in(agent_client)
    token = csrf_token(agent_client.get("/back-office").get_data(as_text=True))
    refused = agent_client.post(
        f"/back-office/demandes/{filed.id}", data={"decision": "reject", "csrf_token": token}
    )
    assert refused.status_code == 303
    assert "Indiquez la raison du refus" in text(agent_client.get("/back-office"))
    assert CertificationRequest.get_by_id(filed.id).status == "pending"

    agent_client.post(
        f"/back-office/demandes/{filed.id}",
        data={"decision": "reject", "reason": "Activité hors champ.", "csrf_token": token},
    )
    assert CertificationRequest.get_by_id(filed.id).status == "rejected"
    assert holder_certifications(world.guichet) == []
    page = text(client.get(f"/espaces/{world.guichet.id}/certifications"))
    assert "Refusée" in page and "Activité hors champ." in page


def test_a_request_needs_a_reason(client, world):
    response = file_request(client, world, reason="")
    assert response.status_code == 422
    assert CertificationRequest.select().count() == 0


def test_an_agent_of_another_administration_neither_sees_nor_decides(client, app, world, agent_client):
    file_request(client, world)
    [filed] = CertificationRequest.select()
    agents.create_agent("ACD", "agent.acd", "Agent ACD", "agent@acd.lu", "acd agent long password")
    acd = app.test_client()
    assert agent_log_in(acd, "agent.acd", "acd agent long password").status_code == 303
    listing = acd.get("/back-office")
    body = text(listing)
    assert "Guichet SARL" not in body and "Aucune demande en attente." in body
    token = csrf_token(listing.get_data(as_text=True))
    before = fingerprint()
    for decision in ("approve", "reject"):
        response = acd.post(
            f"/back-office/demandes/{filed.id}",
            data={"decision": decision, "reason": "Non.", "csrf_token": token},
        )
        assert response.status_code == 404
    assert fingerprint() == before and holder_certifications(world.guichet) == []


def test_request_with_a_supporting_document_the_agent_downloads(client, agent_client, world):
    import io

    log_in(client, world.lea)
    url = gestion_url(world.guichet, "ALVA")
    token = csrf_token(client.get(url).get_data(as_text=True))
    reason = "Nous exploitons une boulangerie à Luxembourg."

    def file_request(content, filename):
        data = {"service": world.alva.id, "reason": reason, "csrf_token": token}
        data["attachment"] = (io.BytesIO(content), filename)
        return client.post(url + "/demande", content_type="multipart/form-data", data=data)

    wrong = file_request(b"MZ\x90\x00 not a document", "permis.pdf")
    assert wrong.status_code == 422 and "PDF, un PNG ou un JPEG" in text(wrong)
    assert CertificationRequest.select().count() == 0

    pdf = b"%PDF-1.4\n% autorisation d'exploitation\n"
    filed = file_request(pdf, "autorisation.pdf")
    assert filed.status_code == 303
    request_ = CertificationRequest.get()
    assert (request_.attachment_name, request_.attachment_type) == ("autorisation.pdf", "application/pdf")

    agent_log_in(agent_client)
    assert "autorisation.pdf" in text(agent_client.get("/back-office"))
    download = agent_client.get(f"/back-office/demandes/{request_.id}/piece-jointe")
    assert download.status_code == 200 and download.data == pdf
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert (
        client.get(f"/back-office/demandes/{request_.id}/piece-jointe").status_code == 303
    )  # people are not agents


# --- Tabs ----------------------------------------------------------------------------------------


def tab_row(body, label):
    """The links of the tab row named `label`: [(text, is current)]."""
    row = re.search(rf'<nav class="[^"]*" aria-label="{label}">(.*?)</nav>', body, re.S)
    assert row, f"no tab row {label!r}"
    return [
        (name.strip(), 'aria-current="page"' in attributes)
        for attributes, name in re.findall(r"<a ([^>]*)>([^<]*)</a>", row.group(1))
    ]


@pytest.mark.parametrize(
    "path, current",
    [
        ("/certifications", "Vue d'ensemble"),
        ("/certifications/administrations", "Vue d'ensemble"),
        ("/certifications/administrations/ACD", "Vue d'ensemble"),  # Gestion
        ("/mandats-obtenus", "Mandats obtenus"),
        ("/mandats-dispenses", "Mandats dispensés"),
    ],
)
def test_each_certification_page_marks_its_tabs_current(client, world, path, current):
    log_in(client, world.lea)
    for headers in ({}, HTMX):
        body = text(client.get(f"/espaces/{world.guichet.id}{path}", headers=headers))
        profile, sections = tab_row(body, "Mon profil d'espace"), tab_row(body, "Certifications et mandats")
        assert [name for name, is_current in profile if is_current] == ["Certifications"]
        assert [name for name, is_current in sections if is_current] == [current]
        assert "Certifications" not in [name for name, _ in sections]  # not twice in a row
