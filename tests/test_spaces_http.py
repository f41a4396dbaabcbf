"""Spaces over HTTP: who may reach what (the permission matrix), the wizard as htmx
fragments and as plain pages, and the query budget of the list pages."""

import html
import re
from datetime import timedelta

import pytest

import factories
from helpers import BOOSTED, HTMX, assert_constant_queries, csrf_token, fingerprint, log_in
from models import (
    Certification,
    CommunicationDocument,
    DossierFile,
    Invitation,
    Membership,
    Procedure,
    Receipt,
    Service,
    Space,
    SpaceDraft,
    User,
    VaultEntry,
)
from services import catalogue, mandates, spaces

# --- The permission matrix --------------------------------------------------------------------

ROLES = ("admin", "manager", "reader", "stranger", "anonymous")


@pytest.fixture
def world(app, clock):
    lea = factories.user("lea")
    space = factories.space(lea, name="Guichet")
    people = {
        "admin": lea,
        "manager": factories.user("marc", email="marc@example.lu"),
        "reader": factories.user("zoe", email="zoe@example.lu"),
        "stranger": factories.user("eve", email="eve@example.lu"),
    }
    factories.member(space, people["manager"], "manager")
    factories.member(space, people["reader"], "reader")
    tom = factories.member(space, factories.user("tom", email="tom@example.lu"), "reader")
    factories.space(people["stranger"], name="Chez Eve")
    invitation = Invitation.create(
        space=space, email="new@example.lu", role="reader", invited_by=lea, nonce_hash="x"
    )
    VaultEntry.create(space=space, key="bank.iban", label="IBAN", value="LU280019400644750000")
    catalogue.load()
    for slug in ("fiches-retenue", "sources-authentiques"):
        Certification.create(
            space=space,
            service=Service.get(slug=slug),
            kind="holder",
            company_identifier="B123456",
            company_name="Guichet SARL",
            ends_at=clock.now() + timedelta(days=365),
        )
    mandate, _code = mandates.grant_mandate(
        spaces.membership_for(lea, space.id),
        lea,
        Service.get(slug="fiches-retenue").id,
        clock.now() + timedelta(days=90),
    )
    draft = factories.signable_dossier(space)
    sent = factories.signable_dossier(space, status="submitted", reference="ACD-2026-000001")
    Receipt.create(
        dossier=sent, number=1, signer="Léa", data_sha256="0" * 64, pdf=b"%PDF-1.7", pdf_sha256="0"
    )
    obtained = Certification.create(
        space=space,
        service=Service.get(slug="sources-authentiques"),
        kind="proxy",
        company_identifier="B777777",
        company_name="Boulangerie SA",
        ends_at=clock.now() + timedelta(days=365),
    )  # an administration's proxy code
    factories.demo_procedures()
    dossier = factories.dossier(space, Procedure.get(slug="acd-fiches-retenue"))
    # Its numéro d'abonné makes it a Mode expert space too: Mes services impots, J'adhère.
    Space.update(subscriber_number="0600000001").where(Space.id == space.id).execute()
    adhesion, _code = factories.adhesion(spaces.membership_for(lea, space.id))
    return {
        "adhesion": adhesion,
        "space": space,
        "dossier": dossier,
        "people": people,
        "tom": tom,
        "invitation": invitation,
        "mandate": mandate,
        "obtained": obtained,
        "draft": draft,
        "sent": sent,
        "communication": factories.communication(space_=space, documents=[factories.PDF]),
    }


# (method, URL, data, who may): "member" any member, "admin" admins only, "vault" and "run"
# managers and admins (readers read the data and the dossiers, 403 for the rest), "resume"
# any member (a redirect to the dossier's step), "sign" (managers and admins; a wrong one-time
# code is refused with 422), "leave" (the
# last admin may not), "code" (admins only; a wrong code is refused with 422), "grant"
# (admins only; answers the page with the code, 200).
ENDPOINTS = [
    ("GET", "/espaces/{s}", None, "member"),
    ("GET", "/espaces/{s}/bienvenue", None, "member"),
    ("GET", "/espaces/{s}/donnees", None, "member"),
    ("POST", "/espaces/{s}/donnees", {"key": "bank.holder", "value": "Guichet SARL"}, "vault"),
    ("GET", "/espaces/{s}/donnees/bank.iban/modifier", None, "vault"),
    ("POST", "/espaces/{s}/donnees/bank.iban/modifier", {"edit-value": "LU28 0019 4006 4475 0000"}, "vault"),
    ("GET", "/espaces/{s}/donnees/bank.iban/supprimer", None, "vault"),
    ("POST", "/espaces/{s}/donnees/bank.iban/supprimer", {}, "vault"),
    ("GET", "/espaces/{s}/communications", None, "member"),
    ("GET", "/espaces/{s}/communications/{comm}", None, "member"),
    ("GET", "/espaces/{s}/communications/{comm}/documents/{doc}", None, "member"),
    ("GET", "/espaces/{s}/profil", None, "member"),
    ("GET", "/espaces/{s}/utilisateurs", None, "member"),
    ("GET", "/espaces/{s}/supprimer", None, "admin"),
    ("POST", "/espaces/{s}/profil", {"name": "Nouveau nom"}, "admin"),
    ("POST", "/espaces/{s}/utilisateurs/inviter", {"email": "tom2@example.lu", "role": "reader"}, "admin"),
    ("POST", "/espaces/{s}/invitations/{inv}/renvoyer", {}, "admin"),
    ("GET", "/espaces/{s}/invitations/{inv}/revoquer", None, "admin"),
    ("POST", "/espaces/{s}/invitations/{inv}/revoquer", {}, "admin"),
    ("POST", "/espaces/{s}/membres/{tom}/role", {"role": "manager"}, "admin"),
    ("GET", "/espaces/{s}/membres/{tom}/retirer", None, "admin"),
    ("POST", "/espaces/{s}/membres/{tom}/retirer", {}, "admin"),
    ("GET", "/espaces/{s}/quitter", None, "member"),
    ("POST", "/espaces/{s}/quitter", {}, "leave"),
    ("POST", "/espaces/{s}/supprimer", {"name": "Guichet"}, "admin"),
    ("GET", "/espaces/{s}/certifications", None, "member"),
    ("GET", "/espaces/{s}/certifications/administrations", None, "member"),
    ("GET", "/espaces/{s}/certifications/administrations/ACD", None, "member"),
    (
        "POST",
        "/espaces/{s}/certifications/administrations/ACD/code",
        {"code": "2222-2222-2222-2222-2222"},
        "code",
    ),
    (
        "POST",
        "/espaces/{s}/certifications/administrations/ALVA/demande",
        {"service": "{alva}", "reason": "Nous exploitons une boulangerie."},
        "admin",
    ),
    ("GET", "/espaces/{s}/mandats-obtenus", None, "member"),
    ("POST", "/espaces/{s}/mandats-obtenus", {"code": "2222-2222-2222-2222-2222"}, "code"),
    ("GET", "/espaces/{s}/mandats-dispenses", None, "member"),
    (
        "POST",
        "/espaces/{s}/mandats-dispenses",
        {"service": "{acd}", "ends_on": "2026-06-30", "note": "Fiduciaire"},
        "grant",
    ),
    ("GET", "/espaces/{s}/mandats-dispenses/{m}/courrier.pdf", None, "admin"),
    ("GET", "/espaces/{s}/mandats/{m}/revoquer", None, "admin"),
    ("POST", "/espaces/{s}/mandats/{m}/revoquer", {}, "admin"),
    ("GET", "/espaces/{s}/mandats-obtenus/{c}/revoquer", None, "admin"),
    ("POST", "/espaces/{s}/mandats-obtenus/{c}/revoquer", {}, "admin"),
    ("GET", "/espaces/{s}/services/sources-authentiques", None, "member"),
    ("GET", "/espaces/{s}/demarches/acd-fiches-retenue", None, "run"),
    ("POST", "/espaces/{s}/demarches/acd-fiches-retenue", {}, "run"),
    ("GET", "/espaces/{s}/dossiers/{d}", None, "member"),
    ("GET", "/espaces/{s}/dossiers/{d}/signer", None, "run"),
    ("POST", "/espaces/{s}/dossiers/{draft}/signer", {"version": "0", "otp": "000000"}, "sign"),
    ("POST", "/espaces/{s}/dossiers/{sent}/messages", {"body": "Bonjour"}, "run"),
    ("GET", "/espaces/{s}/dossiers/{sent}/accuses/1", None, "member"),
    ("GET", "/espaces/{s}/dossiers/{draft}/fichiers/{f}", None, "member"),
    ("GET", "/espaces/{s}/dossiers/{d}/etapes", None, "resume"),
    ("GET", "/espaces/{s}/dossiers/{d}/etapes/1", None, "member"),
    ("POST", "/espaces/{s}/dossiers/{d}/etapes/1", {"version": "0", "action": "draft"}, "run"),
    ("GET", "/espaces/{s}/impots", None, "member"),
    ("GET", "/espaces/{s}/impots/adherer", None, "admin"),
    ("POST", "/espaces/{s}/impots/adherer", {"siren": "123"}, "code"),
    ("GET", "/espaces/{s}/impots/adhesions/{adh}/activer", None, "admin"),
    ("POST", "/espaces/{s}/impots/adhesions/{adh}/activer", {"code": "AAAA-BBBB-CCCC"}, "code"),
    ("POST", "/espaces/{s}/impots/adhesions/{adh}/nouveau-code", {}, "admin"),
    ("GET", "/espaces/{s}/impots/adhesions/{adh}/retirer", None, "admin"),
    ("POST", "/espaces/{s}/impots/adhesions/{adh}/retirer", {}, "admin"),
]


def endpoints(w):
    ids = {
        "s": w["space"].id,
        "tom": w["tom"].id,
        "inv": w["invitation"].id,
        "m": w["mandate"].id,
        "c": w["obtained"].id,
        "alva": Service.get(slug="securite-alimentaire").id,
        "acd": Service.get(slug="fiches-retenue").id,
        "d": w["dossier"].id,
        "draft": w["draft"].id,
        "sent": w["sent"].id,
        "f": DossierFile.get(DossierFile.dossier == w["draft"].id).id,
        "comm": w["communication"].id,
        "doc": CommunicationDocument.get().id,
        "adh": w["adhesion"].id,
    }
    return [
        (method, url.format(**ids), data and {k: str(v).format(**ids) for k, v in data.items()}, rule)
        for method, url, data, rule in ENDPOINTS
    ]


def expected(rule, role, method, htmx):
    if role == "anonymous":
        return 200 if htmx else 303  # to the login page (HX-Redirect for htmx)
    if role == "stranger":
        return 404
    if rule == "leave":
        if role == "admin":
            return 409  # the last admin cannot leave
        return 200 if htmx else 303
    if rule in ("admin", "code", "grant") and role != "admin":
        return 403
    if rule in ("vault", "run", "sign") and role == "reader":
        return 403
    if rule == "resume":
        return 302  # to the step where the dossier was left
    if rule == "sign":
        return 422  # the code is wrong; nothing changes
    if rule == "code":
        return 422  # the code is wrong; nothing changes
    if rule == "grant":
        return 200
    if method == "GET" or htmx:
        return 200
    return 303


def test_matrix_covers_every_space_scoped_endpoint(app, world):
    adapter = app.url_map.bind("localhost")
    covered = {adapter.match(url.split("?")[0], method=method)[0] for method, url, _, _ in endpoints(world)}
    scoped = {rule.endpoint for rule in app.url_map.iter_rules() if "space_id" in rule.arguments}
    assert covered == scoped


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("index", range(len(ENDPOINTS)))
def test_permission_matrix(client, world, role, index, htmx):
    method, url, data, rule = endpoints(world)[index]
    token = csrf_token(client.get("/").get_data(as_text=True))
    if role != "anonymous":
        log_in(client, world["people"][role])
    before = fingerprint()
    headers = HTMX if htmx else {}
    if method == "GET":
        response = client.get(url, headers=headers)
    else:
        response = client.post(url, data={**data, "csrf_token": token}, headers=headers)
    status = expected(rule, role, method, htmx)
    assert response.status_code == status, (method, url, role, response.get_data(as_text=True)[:500])
    if role == "anonymous":
        location = response.headers.get("HX-Redirect" if htmx else "Location")
        assert location == "/connexion"
    if status >= 400 or method == "GET":  # a GET never changes anything, confirmations included
        assert fingerprint() == before
        if status in (403, 409) and rule != "code":
            assert "administrateur" in response.get_data(as_text=True)
    if htmx and status == 200 and method == "GET" and response.mimetype == "text/html":
        assert "<html" not in response.get_data(as_text=True)  # the tab alone


def test_posts_without_csrf_token_are_refused(client, world):
    log_in(client, world["people"]["admin"])
    before = fingerprint()
    response = client.post(f"/espaces/{world['space'].id}/supprimer", data={"name": "Guichet"})
    assert response.status_code == 400 and fingerprint() == before


def test_another_space_ids_are_not_found(client, world):
    """An admin of one space cannot reach a member or an invitation of another space through
    her own space's URLs."""
    eve = world["people"]["stranger"]
    eve_space = Space.get(Space.name == "Chez Eve")
    log_in(client, eve)
    token = csrf_token(client.get(f"/espaces/{eve_space.id}/utilisateurs").get_data(as_text=True))
    before = fingerprint()
    for url, data in [
        (f"/espaces/{eve_space.id}/membres/{world['tom'].id}/role", {"role": "admin"}),
        (f"/espaces/{eve_space.id}/membres/{world['tom'].id}/retirer", {}),
        (f"/espaces/{eve_space.id}/invitations/{world['invitation'].id}/revoquer", {}),
    ]:
        response = client.post(url, data={**data, "csrf_token": token})
        assert response.status_code == 404, url
    assert fingerprint() == before


def test_list_pages_need_login(client):
    for url in ("/espaces", "/espaces/changer", "/espaces/nouveau", "/espaces/fusionner", "/mon-espace"):
        response = client.get(url)
        assert response.status_code == 303 and response.headers["Location"] == "/connexion", url


# --- Gérer mes espaces, Changer d'espace ---------------------------------------------------------


def test_landing_goes_to_manage_then_to_the_private_space(client, app, clock):
    lea = factories.user("lea")
    log_in(client, lea)
    assert client.get("/mon-espace").headers["Location"] == "/espaces"
    page = client.get("/espaces").get_data(as_text=True)
    for label in (
        "Créer mon espace privé",
        "Créer un espace professionnel",
        "Fusionner deux espaces professionnels",
    ):
        assert label in page
    response = client.post("/espaces/prive", data={"csrf_token": csrf_token(page)})
    private = Space.get(Space.kind == "private")
    assert response.headers["Location"] == f"/espaces/{private.id}"
    assert client.get("/mon-espace").headers["Location"] == f"/espaces/{private.id}"
    again = client.post("/espaces/prive", data={"csrf_token": csrf_token(page)})
    assert again.status_code == 409 and "déjà un espace privé" in again.get_data(as_text=True)


def test_switch_groups_and_searches(client, app, clock):
    lea = factories.user("lea")
    factories.space(lea, name="Moi", kind="private")
    factories.space(lea, name="Boulangerie")
    factories.space(lea, name="Garage")
    log_in(client, lea)
    page = client.get("/espaces/changer").get_data(as_text=True)
    assert (
        page.index("Espace privé")
        < page.index("Espaces professionnels")
        < page.index("Boulangerie")
        < page.index("Garage")
    )
    fragment = client.get("/espaces/changer?q=gar", headers=HTMX).get_data(as_text=True)
    assert fragment.startswith('\n<div id="space-list">') or fragment.lstrip().startswith(
        '<div id="space-list">'
    )
    assert "Garage" in fragment and "Boulangerie" not in fragment


def grow_spaces(user):
    def grow(n):
        have = Membership.select().where(Membership.user == user).count()
        for i in range(have, n):
            factories.member(
                factories.space(None, name=f"Espace {i:03d}"), user, "admin" if i % 2 else "reader"
            )

    return grow


@pytest.mark.parametrize("url", ["/espaces", "/espaces/changer", "/espaces/fusionner"])
def test_space_lists_keep_a_constant_query_count(client, app, clock, url):
    lea = factories.user("lea")
    log_in(client, lea)
    assert_constant_queries(client, url, grow_spaces(lea), small=5, large=200)


def test_users_tab_keeps_a_constant_query_count(client, app, clock):
    lea = factories.user("lea")
    space = factories.space(lea)
    log_in(client, lea)

    def grow(n):
        have = Membership.select().where(Membership.space == space).count()
        for i in range(have, n):
            factories.member(space, factories.user(f"user{i}", email=f"user{i}@example.lu"), "reader")
        Invitation.create(
            space=space, email=f"inv{n}@example.lu", role="reader", invited_by=lea, nonce_hash="x"
        )

    assert_constant_queries(client, f"/espaces/{space.id}/utilisateurs", grow, small=5, large=120)


# --- The wizard ----------------------------------------------------------------------------------


@pytest.fixture
def wizard_client(client, app, clock):
    log_in(client, factories.user("lea"))
    client.token = csrf_token(client.get("/espaces").get_data(as_text=True))
    return client


def post(client, url, data=None, headers=None):
    return client.post(url, data={**(data or {}), "csrf_token": client.token}, headers=headers or {})


@pytest.mark.parametrize(
    "headers, partial", [({}, False), (HTMX, True), (BOOSTED, False)], ids=["plain", "htmx", "boosted"]
)
def test_wizard_steps_are_pages_and_fragments(wizard_client, headers, partial):
    assert wizard_client.get("/espaces/nouveau").headers["Location"] == "/espaces/nouveau/cgu"
    response = wizard_client.get("/espaces/nouveau/cgu", headers=headers)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Accepter les CGU" in html and ("<html" not in html) == partial
    assert response.headers["Vary"].startswith("HX-Request") or "HX-Request" in response.headers["Vary"]

    refused = post(wizard_client, "/espaces/nouveau/cgu", {}, headers)
    assert refused.status_code == 422 and "Il faut accepter" in refused.get_data(as_text=True)
    accepted = post(wizard_client, "/espaces/nouveau/cgu", {"accept": "y"}, headers)
    if headers == HTMX:
        assert accepted.status_code == 200
        assert '"path": "/espaces/nouveau/nom"' in accepted.headers["HX-Location"]
        assert '"target": "#wizard"' in accepted.headers["HX-Location"]
    else:
        assert accepted.status_code == 303 and accepted.headers["Location"] == "/espaces/nouveau/nom"


def test_wizard_without_javascript_with_back_refresh_and_resume(wizard_client, app):
    c = wizard_client
    post(c, "/espaces/nouveau/cgu", {"accept": "y"})
    step1 = c.get("/espaces/nouveau/nom").get_data(as_text=True)
    assert 'value="Espace pro de Léa"' in step1
    assert c.get("/espaces/nouveau/verification").headers["Location"] == "/espaces/nouveau/nom"  # no skipping
    assert post(c, "/espaces/nouveau/nom", {"name": ""}).status_code == 422
    assert (
        post(c, "/espaces/nouveau/nom", {"name": "Guichet"}).headers["Location"]
        == "/espaces/nouveau/entreprise"
    )

    wrong = post(c, "/espaces/nouveau/entreprise", {**factories.COMPANY_FORM, "identifier": "12345"})
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "error-summary" in html and "RCS" in html
    assert 'value="12345"' in c.get("/espaces/nouveau/entreprise").get_data(as_text=True)  # refresh keeps it

    back = post(
        c, "/espaces/nouveau/entreprise", {**factories.COMPANY_FORM, "identifier": "B999", "back": "1"}
    )
    assert back.headers["Location"] == "/espaces/nouveau/nom"
    assert 'value="Guichet"' in c.get("/espaces/nouveau/nom").get_data(as_text=True)
    post(c, "/espaces/nouveau/nom", {"name": "Guichet"})
    kept = c.get("/espaces/nouveau/entreprise").get_data(as_text=True)
    assert 'value="B999"' in kept and 'value="contact@guichet.lu"' in kept

    assert (
        post(c, "/espaces/nouveau/entreprise", factories.COMPANY_FORM).headers["Location"]
        == "/espaces/nouveau/verification"
    )
    # Resume: a new session (log in again) lands on the step reached.
    c = app.test_client()
    log_in(c, User.get(User.userid == "lea"))
    assert c.get("/espaces/nouveau").headers["Location"] == "/espaces/nouveau/verification"
    review = c.get("/espaces/nouveau/verification").get_data(as_text=True)
    c.token = csrf_token(review)
    for text in (
        "Vérifiez vos infos d'utilisateurs",
        "Guichet SARL",
        "B123456",
        "LU15027442",
        "lea@example.lu",
    ):
        assert text in review
    draft = re.search(r'name="draft" value="(\d+)"', review).group(1)

    created = post(c, "/espaces/nouveau/verification", {"draft": draft})
    space = Space.get(Space.name == "Guichet")
    assert created.headers["Location"] == f"/espaces/{space.id}/bienvenue"
    assert "Vous venez de créer votre espace professionnel" in c.get(created.headers["Location"]).get_data(
        as_text=True
    )
    twice = post(c, "/espaces/nouveau/verification", {"draft": draft})
    assert twice.status_code == 303 and Space.select().count() == 1
    assert "déjà terminée" in c.get("/espaces").get_data(as_text=True)
    # The terms are asked the first time only.
    assert c.get("/espaces/nouveau").headers["Location"] == "/espaces/nouveau/nom"
    assert SpaceDraft.select().count() == 0  # opening the wizard again starts nothing yet


def test_wizard_gets_change_nothing(wizard_client):
    """Opening, refreshing or going back to a step creates no draft: the first POST does."""
    c = wizard_client
    urls = [
        "/espaces/nouveau",
        "/espaces/nouveau/cgu",
        "/espaces/nouveau/nom",
        "/espaces/nouveau/entreprise",
        "/espaces/nouveau/verification",
    ]
    for _terms in ("to accept", "accepted"):
        for url in urls:
            for headers in ({}, HTMX):
                assert c.get(url, headers=headers).status_code in (200, 302), url
        assert SpaceDraft.select().count() == 0
        post(c, "/espaces/nouveau/cgu", {"accept": "y"})
    step1 = c.get("/espaces/nouveau/nom")
    assert step1.status_code == 200 and 'value="Espace pro de Léa"' in step1.get_data(as_text=True)
    assert c.get("/espaces/nouveau/entreprise").headers["Location"] == "/espaces/nouveau/nom"
    assert SpaceDraft.select().count() == 0
    assert post(c, "/espaces/nouveau/nom", {"name": ""}).status_code == 422
    assert SpaceDraft.select().count() == 0
    assert (
        post(c, "/espaces/nouveau/nom", {"name": "Guichet"}).headers["Location"]
        == "/espaces/nouveau/entreprise"
    )
    assert SpaceDraft.get().data["name"] == "Guichet"
    assert c.get("/espaces/nouveau").headers["Location"] == "/espaces/nouveau/entreprise"  # resume


def test_wizard_refuses_at_once_when_the_limit_is_reached(wizard_client):
    from services import auth

    lea = User.get(User.userid == "lea")
    auth.token_product(lea).__class__.update(space_limit=0).execute()
    response = wizard_client.get("/espaces/nouveau", follow_redirects=True)
    assert "limite de 0 espaces professionnels" in response.get_data(as_text=True)
    assert "Helpdesk" in response.get_data(as_text=True)


# --- Utilisateurs, invitations, merge, delete -------------------------------------------------------


def test_invite_three_ways_and_join_by_the_link(client, app, clock):
    lea = factories.user("lea")
    space = factories.space(lea, name="Guichet")
    log_in(client, lea)
    token = csrf_token(client.get(f"/espaces/{space.id}/utilisateurs").get_data(as_text=True))
    bad = client.post(
        f"/espaces/{space.id}/utilisateurs/inviter",
        data={"csrf_token": token, "email": "x@", "role": "reader"},
        headers=HTMX,
    )
    assert bad.status_code == 422 and "adresse e-mail" in bad.get_data(as_text=True)
    done = client.post(
        f"/espaces/{space.id}/utilisateurs/inviter",
        data={"csrf_token": token, "email": "marc@example.lu", "role": "manager"},
        headers=HTMX,
    )
    assert (
        done.status_code == 200
        and "marc@example.lu" in done.get_data(as_text=True)
        and "<html" not in done.get_data(as_text=True)
    )

    plain = client.post(
        f"/espaces/{space.id}/utilisateurs/inviter",
        data={"csrf_token": token, "email": "ana@example.lu", "role": "reader"},
        follow_redirects=True,
    )
    assert (
        plain.get_data(as_text=True).count("Une invitation valable 7 jours a été envoyée à ana@example.lu")
        == 1
    )

    from models import OutboxMail

    mail = OutboxMail.get(OutboxMail.to == "marc@example.lu")
    link = re.search(r"http://localhost(/invitations/\S+)", mail.body_text).group(1)

    marc_client = app.test_client()
    anonymous = marc_client.get(link).get_data(as_text=True)
    assert "Guichet" in anonymous and "Gestionnaire" in anonymous and "Connexion" in anonymous
    log_in(marc_client, factories.user("marc", email="marc@example.lu"))
    page = marc_client.get(link).get_data(as_text=True)
    joined = marc_client.post(link, data={"csrf_token": csrf_token(page)})
    assert joined.headers["Location"] == f"/espaces/{space.id}"
    assert Membership.get(Membership.user == User.get(User.userid == "marc")).role == "manager"
    used = marc_client.post(link, data={"csrf_token": csrf_token(page)})
    assert used.status_code == 410 and "plus valable" in used.get_data(as_text=True)


@pytest.mark.parametrize(
    "headers, partial", [({}, False), (HTMX, True), (BOOSTED, False)], ids=["plain", "htmx", "boosted"]
)
def test_removing_a_member_and_revoking_an_invitation_ask_first(client, world, headers, partial):
    """The Utilisateurs tab links to a confirmation (a page, or the question alone for htmx);
    asking changes nothing, Confirmer does it, Annuler goes back to the tab."""
    space, tom, invitation = world["space"], world["tom"], world["invitation"]
    users = f"/espaces/{space.id}/utilisateurs"
    log_in(client, world["people"]["admin"])
    tab = client.get(users).get_data(as_text=True)
    asks = {
        f"/espaces/{space.id}/membres/{tom.id}/retirer": (
            "Retirer Léa Guichet de l'espace ?",
            f"member-{tom.id}",
        ),
        f"/espaces/{space.id}/invitations/{invitation.id}/revoquer": (
            "Révoquer l'invitation de new@example.lu ?",
            f"invitation-{invitation.id}",
        ),
    }
    before = fingerprint()
    for url, (question, key) in asks.items():
        assert f'href="{url}"' in tab and f'action="{url}"' not in tab  # no one-click removal
        response = client.get(url, headers=headers)
        body = html.unescape(response.get_data(as_text=True))
        assert response.status_code == 200 and question in body
        assert f'<form action="{url}" method="post"' in body and f'href="{users}"' in body
        assert (
            "<html" not in body
            and body.strip().startswith(f'<div class="notice notice-warning" id="confirm-{key}"')
        ) == partial
    assert fingerprint() == before

    token = csrf_token(tab)
    for url in asks:
        response = client.post(url, data={"csrf_token": token}, headers=headers)
        assert response.status_code == (200 if partial else 303)
    assert Membership.get_or_none(Membership.id == tom.id) is None
    assert Invitation.get_by_id(invitation.id).revoked_at is not None


@pytest.mark.parametrize(
    "headers, partial", [({}, False), (HTMX, True), (BOOSTED, False)], ids=["plain", "htmx", "boosted"]
)
def test_leaving_asks_first(client, world, headers, partial):
    space, reader = world["space"], world["people"]["reader"]
    users, leave = f"/espaces/{space.id}/utilisateurs", f"/espaces/{space.id}/quitter"
    log_in(client, reader)
    tab = client.get(users).get_data(as_text=True)
    assert f'href="{leave}"' in tab and f'action="{leave}"' not in tab  # no one-click leaving
    before = fingerprint()
    response = client.get(leave, headers=headers)
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200 and f"Quitter l'espace {space.name} ?" in body
    assert f'<form action="{leave}" method="post"' in body and f'href="{users}"' in body
    assert ("<html" not in body) == partial
    assert fingerprint() == before
    response = client.post(leave, data={"csrf_token": csrf_token(tab)}, headers=headers)
    if headers:  # htmx is sent on to Gérer mes espaces
        assert response.status_code == 200 and response.headers["HX-Redirect"] == "/espaces"
    else:
        assert response.status_code == 303 and response.headers["Location"] == "/espaces"
    assert not Membership.select().where(Membership.space == space, Membership.user == reader).exists()


def test_delete_asks_for_the_name(client, app, clock):
    lea = factories.user("lea")
    space = factories.space(lea, name="Guichet")
    log_in(client, lea)
    token = csrf_token(client.get(f"/espaces/{space.id}/supprimer").get_data(as_text=True))
    wrong = client.post(f"/espaces/{space.id}/supprimer", data={"csrf_token": token, "name": "guichet sarl"})
    assert wrong.status_code == 422 and "ne correspond pas" in wrong.get_data(as_text=True)
    assert Space.get_by_id(space.id).deleted_at is None
    done = client.post(f"/espaces/{space.id}/supprimer", data={"csrf_token": token, "name": "Guichet"})
    assert done.headers["Location"] == "/espaces"
    assert client.get(f"/espaces/{space.id}").status_code == 404


def test_merge_preview_and_confirm(client, app, clock):
    from models import Certification, VaultEntry

    lea = factories.user("lea")
    target, source = factories.space(lea, name="Cible"), factories.space(lea, name="Source")
    VaultEntry.create(space=source, key="phone", label="Téléphone", value="+352 1")
    VaultEntry.create(space=target, key="phone", label="Téléphone", value="+352 2")
    log_in(client, lea)
    page = client.get("/espaces/fusionner").get_data(as_text=True)
    assert "Cible" in page and "Source" in page
    preview = client.get(f"/espaces/fusionner?source={source.id}&target={target.id}", headers=HTMX)
    html = preview.get_data(as_text=True)
    assert (
        preview.status_code == 200 and "Confirmer la fusion" in html and "+352 1" in html and "+352 2" in html
    )
    merged = client.post(
        "/espaces/fusionner",
        data={
            "csrf_token": csrf_token(html),
            "source": source.id,
            "target": target.id,
            "vault:phone": "source",
        },
    )
    assert merged.status_code == 303, merged.get_data(as_text=True)[-3000:]
    assert merged.headers["Location"] == f"/espaces/{target.id}"
    assert VaultEntry.get(VaultEntry.space == target).value == "+352 1"
    manage = client.get("/espaces").get_data(as_text=True)
    assert "fusionné dans Cible" in manage

    other = factories.space(lea, name="Autre")
    service = factories.service()
    for space in (other, target):
        Certification.create(space=space, service=service, kind="holder")
    refused = client.post(
        "/espaces/fusionner", data={"csrf_token": csrf_token(html), "source": other.id, "target": target.id}
    )
    assert refused.status_code == 409 and "La fusion est impossible" in refused.get_data(as_text=True)
    assert Space.get_by_id(other.id).is_live


def test_merge_of_two_companies_is_refused_in_the_preview(client, app, clock):
    from models import Certification

    lea = factories.user("lea")
    target = factories.space(lea, name="Cible")
    source = factories.space(lea, name="Autre société", company_name="Autre SA", identifier="B654321")
    Certification.create(
        space=source, service=factories.service(), kind="holder", company_identifier="B654321"
    )
    log_in(client, lea)
    for headers in ({}, HTMX):
        preview = client.get(f"/espaces/fusionner?source={source.id}&target={target.id}", headers=headers)
        html = preview.get_data(as_text=True)
        assert preview.status_code == 200
        assert "La fusion est impossible" in html and "deux entreprises différentes" in html
        assert "B654321" in html and "B123456" in html
        assert "Confirmer la fusion" not in html  # nothing is asked
    refused = client.post(
        "/espaces/fusionner",
        data={
            "csrf_token": csrf_token(client.get("/espaces/fusionner").get_data(as_text=True)),
            "source": source.id,
            "target": target.id,
        },
    )
    assert refused.status_code == 409 and "deux entreprises différentes" in refused.get_data(as_text=True)
    assert Space.get_by_id(source.id).merged_into_id is None
    assert Certification.get().space_id == source.id


def test_oversized_ids_and_pages_are_not_server_errors(client, world):
    log_in(client, world["people"]["admin"])
    huge = "99999999999999999999999"
    token = csrf_token(client.get("/espaces").get_data(as_text=True))
    assert client.get(f"/espaces/{huge}").status_code == 404
    assert client.get(f"/espaces?page={huge}").status_code == 200
    assert client.get(f"/espaces/{world['space'].id}/utilisateurs?page={huge}").status_code == 200
    assert (
        client.post(
            f"/espaces/{world['space'].id}/membres/{huge}/retirer", data={"csrf_token": token}
        ).status_code
        == 404
    )
    assert client.get(f"/espaces/{world['space'].id}/membres/{huge}/retirer").status_code == 404
    assert (
        client.post("/espaces/nouveau/verification", data={"csrf_token": token, "draft": huge}).status_code
        == 303
    )
    assert client.get(f"/espaces/fusionner?source={huge}&target=1").status_code == 422


# --- The private space ------------------------------------------------------------------------


def test_no_tab_says_it_is_to_come(client, clock):
    """Every tab of a space is a working feature: none says "pas encore disponible"."""
    lea = factories.user("lea")
    space = factories.space(lea, name="Guichet")
    log_in(client, lea)
    for path, feature in [
        ("", "Commencer une démarche"),
        ("/donnees", "Ajouter une information"),
        ("/communications", "Aucune communication pour le moment."),
    ]:
        html = client.get(f"/espaces/{space.id}{path}").get_data(as_text=True)
        assert "pas encore disponible" not in html and feature in html, path


def test_private_space_shows_only_what_applies(client, app, clock):
    """A private space has no certifications, mandates, professional data or colleagues: its
    tabs do not offer them and their URLs answer 404 saying why, never "ask an administrator"."""
    catalogue.load()
    lea = factories.user("lea")
    private = factories.space(lea, name="Espace privé de Léa", kind="private")
    log_in(client, lea)
    token = csrf_token(client.get(f"/espaces/{private.id}").get_data(as_text=True))
    for url in (
        f"/espaces/{private.id}",
        f"/espaces/{private.id}/profil",
        f"/espaces/{private.id}/communications",
    ):
        for headers in ({}, HTMX):
            response = client.get(url, headers=headers)
            html = response.get_data(as_text=True)
            assert response.status_code == 200, url
            for absent in (
                "Mes données professionnelles",
                "Certifications",
                "Mandats",
                "Utilisateurs",
                "Seul un administrateur",
                f"/espaces/{private.id}/services/",
            ):
                assert absent not in html, (url, absent)
    acd = Service.get(slug="fiches-retenue")
    before = fingerprint()
    for method, path, data in [
        ("GET", "/donnees", None),
        ("GET", "/utilisateurs", None),
        ("GET", "/certifications", None),
        ("GET", "/certifications/administrations", None),
        ("GET", "/certifications/administrations/ACD", None),
        ("GET", "/mandats-obtenus", None),
        ("GET", "/mandats-dispenses", None),
        ("POST", "/certifications/administrations/ACD/code", {"code": "2222-2222-2222-2222-2222"}),
        (
            "POST",
            "/certifications/administrations/ALVA/demande",
            {"service": Service.get(slug="securite-alimentaire").id, "reason": "Boulangerie"},
        ),
        ("POST", "/mandats-obtenus", {"code": "2222-2222-2222-2222-2222"}),
        ("POST", "/mandats-dispenses", {"service": acd.id, "ends_on": "2026-06-30"}),
        ("POST", "/utilisateurs/inviter", {"email": "marc@example.lu", "role": "reader"}),
    ]:
        for headers in ({}, HTMX):
            url = f"/espaces/{private.id}{path}"
            if method == "GET":
                response = client.get(url, headers=headers)
            else:
                response = client.post(url, data={**data, "csrf_token": token}, headers=headers)
            html = response.get_data(as_text=True)
            assert response.status_code == 404, (method, path, response.status_code)
            assert "Un espace privé" in html, (method, path)
            assert "administrateur" not in html and "Votre rôle" not in html, (method, path)
    # Leaving is not asked about: a private space is left by deleting it.
    for headers in ({}, HTMX):
        response = client.get(f"/espaces/{private.id}/quitter", headers=headers)
        assert response.status_code == 422 and "Quitter l'espace" not in response.get_data(as_text=True)
        assert "pouvez le supprimer" in response.get_data(as_text=True)
    assert fingerprint() == before
    assert Invitation.select().count() == 0
    # A service that needs a certified space says that a private space cannot be one.
    refused = client.get(f"/espaces/{private.id}/services/fiches-retenue")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 403 and "Un espace privé" in html
    assert "code d'accès" not in html and "administrateur" not in html
