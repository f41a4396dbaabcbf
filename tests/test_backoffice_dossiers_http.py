"""Dossiers in the back-office over HTTP: the queue (filters, search, pages, its query
budget), a dossier's page, the decisions and messages as plain posts, htmx and boosted
requests, refusals shown with their status and nothing changed, downloads that are never
rendered, mails that link without telling, and another administration's agent finding
nothing."""

import html

import pytest

import factories
from helpers import BOOSTED, HTMX, agent_log_in, assert_constant_queries, csrf_token
from models import Communication, Dossier, DossierEvent, DossierFile, DossierMessage, OutboxMail, Receipt

WAYS = pytest.mark.parametrize(
    "headers, partial", [({}, False), (HTMX, True), (BOOSTED, False)], ids=["plain", "htmx", "boosted"]
)
QUEUE = "/back-office/dossiers"

# A procedure with each kind of value the data partial shows: text, select, checkbox, file
# and a repeatable group.
DEFINITION = {
    "title": "Fiches de retenue d'impôt : demande de fiches",
    "steps": [
        {
            "key": "entreprise",
            "title": "Votre entreprise",
            "fields": [
                {"name": "company_name", "type": "text", "label": "Raison sociale", "required": True},
                {
                    "name": "period",
                    "type": "select",
                    "label": "Période",
                    "options": [{"value": "2026", "label": "Année 2026"}],
                },
                {"name": "urgent", "type": "checkbox", "label": "Demande urgente"},
                {"name": "minutes", "type": "file", "label": "Procès-verbal"},
            ],
        },
        {
            "key": "salaries",
            "title": "Vos salariés",
            "fields": [
                {
                    "name": "employees",
                    "type": "group",
                    "label": "Salariés",
                    "fields": [
                        {"name": "matricule", "type": "matricule", "label": "Matricule"},
                        {"name": "name", "type": "text", "label": "Nom"},
                    ],
                }
            ],
        },
    ],
}


def text(response):
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def world(app, client, clock):
    """Léa's Guichet SARL has transmitted a dossier to the ACD (a PDF of minutes, a receipt);
    Agnès, an ACD agent, is logged in to the back-office."""
    lea = factories.user("lea")
    space = factories.space(lea, name="Guichet")
    procedure = factories.procedure(definition=DEFINITION)
    found = factories.transmitted_dossier(space, procedure, created_by=lea)
    minutes = DossierFile.create(
        dossier=found,
        field="minutes",
        name="PV signé.pdf",
        content_type="application/pdf",
        size=9,
        sha256="0" * 64,
        content=b"%PDF-1.4\n",
    )
    found.data = {
        "company_name": "Guichet SARL",
        "period": "2026",
        "urgent": "1",
        "minutes": str(minutes.id),
        "employees": [{"matricule": "1983081974925", "name": "Jean Dupont"}],
    }
    found.save()
    Receipt.create(
        dossier=found,
        number=1,
        signer="Léa Guichet (lea)",
        data_sha256="1" * 64,
        pdf=b"%PDF-r",
        pdf_sha256="2" * 64,
    )
    factories.agent("ACD", "agent.acd")
    assert agent_log_in(client, "agent.acd").headers["Location"] == "/back-office"
    return {
        "space": space,
        "procedure": procedure,
        "dossier": found,
        "minutes": minutes,
        "page": f"{QUEUE}/{found.id}",
        "token": csrf_token(client.get(QUEUE).get_data(as_text=True)),
    }


def post(client, world, path, data=None, headers=None):
    return client.post(
        world["page"] + path, data={"csrf_token": world["token"], **(data or {})}, headers=headers or {}
    )


def state(dossier_id):
    return (
        Dossier.get_by_id(dossier_id).status,
        DossierEvent.select().count(),
        DossierMessage.select().count(),
        OutboxMail.select().count(),
    )


# --- Navigation and the queue -----------------------------------------------------------------


def test_the_back_office_navigation_marks_the_current_section(client, world):
    requests = text(client.get("/back-office"))
    assert '<a href="/back-office" aria-current="page">Demandes de certification</a>' in requests
    assert f'<a href="{QUEUE}">Dossiers</a>' in requests
    queue = text(client.get(QUEUE))
    assert f'<a href="{QUEUE}" aria-current="page">Dossiers</a>' in queue
    assert '<a href="/back-office">Demandes de certification</a>' in queue
    assert "Se déconnecter" in queue and "Agnès Agent" in queue


def test_the_queue_lists_filters_and_searches(client, world, clock):
    factories.dossier(world["space"], world["procedure"])  # a draft: not there
    clock.advance(minutes=1)
    taken = factories.transmitted_dossier(world["space"], world["procedure"], 2, status="in_progress")
    page = text(client.get(QUEUE))
    assert "2 dossiers" in page
    assert page.index("ACD-2026-000002") < page.index("ACD-2026-000001")  # the last changed first
    assert f'href="{QUEUE}/{taken.id}"' in page and "En cours de traitement" in page and "B123456" in page
    assert '<option value="draft"' not in page and '<option value="in_progress">' in page
    assert f'<option value="{world["procedure"].id}">Fiches de retenue' in page

    filtered = text(client.get(f"{QUEUE}?status=in_progress&procedure={world['procedure'].id}"))
    assert "ACD-2026-000002" in filtered and "ACD-2026-000001" not in filtered
    assert '<option value="in_progress" selected>' in filtered
    assert "ACD-2026-000001" in text(client.get(f"{QUEUE}?q=000001"))
    assert "Aucun dossier ne correspond" in text(client.get(f"{QUEUE}?q=inconnu"))
    for junk in ("status=draft", "status=zzz", "procedure=99999999999", "procedure=-1", "page=0"):
        assert "2 dossiers" in text(client.get(f"{QUEUE}?{junk}")), junk


def test_the_queue_as_htmx_is_its_partial(client, world):
    response = client.get(f"{QUEUE}?q=Guichet", headers=HTMX)
    body = text(response)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert body.lstrip().startswith('<section class="panel" id="dossiers">') and "<html" not in body
    assert "<title>" in body  # the document's title follows
    assert "<html" in text(client.get(f"{QUEUE}?q=Guichet", headers=BOOSTED))


def test_the_queue_pages_keep_the_filters(client, world):
    factories.dossier_rows(world["space"], world["procedure"], 60, start=2)
    page = text(client.get(f"{QUEUE}?status=submitted&q=ACD"))
    assert "61 dossiers" in page and "Page 1 sur 2" in page
    assert f'href="{QUEUE}?page=2&status=submitted&q=ACD"' in page
    second = text(client.get(f"{QUEUE}?status=submitted&q=ACD&page=2"))
    assert "Page 2 sur 2" in second and "ACD-2026-000061" in second
    past = text(client.get(f"{QUEUE}?status=submitted&q=ACD&page=9"))
    assert "Aucun dossier transmis" not in past and "la liste tient sur 2 pages" in past
    assert f'href="{QUEUE}?page=2&status=submitted&q=ACD"' in past


def test_the_queue_costs_the_same_queries_at_10_and_at_2000_dossiers(client, world):
    made = {"count": 1}

    def grow(n):
        factories.dossier_rows(world["space"], world["procedure"], n - made["count"], start=made["count"] + 1)
        made["count"] = n

    assert_constant_queries(client, QUEUE, grow, small=10, large=2000)
    assert_constant_queries(client, f"{QUEUE}?status=submitted&q=ACD-2026", grow, small=2001, large=2100)


# --- A dossier's page ---------------------------------------------------------------------------


def test_the_dossier_page_shows_everything_and_only_the_decisions_allowed(client, world):
    page = text(client.get(world["page"]))
    assert "Dossier ACD-2026-000001" in page and "Transmis" in page and "Guichet SARL (B123456)" in page
    # The submitted data, step by step: a choice's label, a checkbox, a file's name, a group's rows.
    for shown in ("Votre entreprise", "Année 2026", "Oui", "PV signé.pdf", "Vos salariés", "Jean Dupont"):
        assert shown in page, shown
    assert f'href="{world["page"]}/accuses/1" download' in page
    assert f'href="{world["page"]}/fichiers/{world["minutes"].id}" download' in page
    assert "Signé et transmis" in page and "Léa Guichet" in page  # the history
    assert f'action="{world["page"]}/prendre-en-charge"' in page
    for other in ("complement", "accepter", "refuser"):
        assert f'action="{world["page"]}/{other}"' not in page
    assert f'action="{world["page"]}/messages"' in page and "Aucun message pour le moment." in page


def test_a_dossier_filed_by_a_mandatary_names_it(client, world):
    from models import Certification, Service

    fiona = factories.user("fiona")
    fiduciary = factories.space(fiona, name="Fiduciaire", company_name="Fidu SA", identifier="B222222")
    mandate = Certification.create(
        space=fiduciary,
        service=Service.get(slug="fiches-retenue"),
        kind="proxy",
        company_identifier="B123456",
        company_name="Guichet SARL",
    )
    Dossier.update(space=fiduciary, mandant_space=world["space"], mandate=mandate).where(
        Dossier.id == world["dossier"].id
    ).execute()
    page = text(client.get(world["page"]))
    assert "Déposé par" in page and "Fidu SA (mandataire)" in page and "B222222" in page
    assert "Guichet SARL (B123456)" in page  # the company it is filed for


def test_downloads_are_attachments_never_inline(client, world):
    receipt = client.get(world["page"] + "/accuses/1")
    assert receipt.data == b"%PDF-r" and receipt.headers["Content-Type"] == "application/pdf"
    assert receipt.headers["Content-Disposition"] == 'attachment; filename="accuse-ACD-2026-000001-1.pdf"'
    minutes = client.get(f"{world['page']}/fichiers/{world['minutes'].id}")
    assert minutes.data == b"%PDF-1.4\n"
    assert minutes.headers["Content-Disposition"] == 'attachment; filename="PV_signe.pdf"'
    assert minutes.headers["Cache-Control"] == "no-store"
    assert client.get(world["page"] + "/accuses/2").status_code == 404


def test_the_dossier_page_queries_do_not_grow_with_the_thread(client, world):
    from models import Agent

    agent = Agent.get()

    def grow(n):
        have = DossierMessage.select().count()
        for i in range(have, n):
            message = DossierMessage.create(
                dossier=world["dossier"], author_agent=agent, author="Agnès", body=f"Message {i}"
            )
            DossierFile.create(
                dossier=world["dossier"],
                message=message,
                name=f"m{i}.pdf",
                content_type="application/pdf",
                size=4,
                sha256="0" * 64,
                content=b"%PDF",
            )
            DossierEvent.create(dossier=world["dossier"], action="message", status="submitted", actor="Agnès")

    assert_constant_queries(client, world["page"], grow, small=3, large=120)
    page = text(client.get(world["page"] + "?page=3"))
    assert "Message 119" in page and "m119.pdf" in page and "Page 3 sur 3" in page


# --- Decisions ------------------------------------------------------------------------------------


def answered(response, partial, world):
    """htmx: HX-Location to the page (htmx gets its card); else a 303 to it."""
    if partial:
        assert response.status_code == 200 and response.headers["HX-Location"].startswith(
            '{"path": "%s"' % world["page"]
        )
    else:
        assert response.status_code == 303 and response.headers["Location"] == world["page"]


@WAYS
def test_take_ask_a_complement_then_accept(client, world, headers, partial):
    dossier_id = world["dossier"].id
    answered(post(client, world, "/prendre-en-charge", headers=headers), partial, world)
    card = client.get(world["page"], headers=headers)
    body = text(card)
    assert "Dossier pris en charge : il est en cours de traitement." in body  # the flash
    assert body.lstrip().startswith('<section class="panel" id="dossier">') == partial
    assert Dossier.get_by_id(dossier_id).status == "in_progress" and "Pris en charge" in body
    assert f'action="{world["page"]}/complement"' in body and f'action="{world["page"]}/accepter"' in body

    asked = "Merci de joindre le procès-verbal signé."
    answered(post(client, world, "/complement", {"complement-text": asked}, headers), partial, world)
    body = text(client.get(world["page"]))
    assert Dossier.get_by_id(dossier_id).status == "complement" and asked in body
    assert "Complément demandé : l'entreprise est prévenue." in body
    assert 'action="' + world["page"] + '/accepter"' not in body  # waiting for the company

    Dossier.update(status="submitted").where(Dossier.id == dossier_id).execute()  # signed again
    post(client, world, "/prendre-en-charge", headers=headers)
    answered(post(client, world, "/accepter", headers=headers), partial, world)
    assert Dossier.get_by_id(dossier_id).status == "accepted"
    body = text(client.get(world["page"]))
    assert "Dossier accepté" in body and "Décision" not in body  # closed: nothing more to decide


def test_the_mails_link_to_the_decisions_and_tell_nothing_of_them(client, world):
    post(client, world, "/prendre-en-charge")
    post(client, world, "/complement", {"complement-text": "Merci de joindre le procès-verbal signé."})
    post(client, world, "/messages", {"body": "Le document manque toujours."})
    mails = list(OutboxMail.select().where(OutboxMail.to == "lea@example.lu").order_by(OutboxMail.id))
    assert [m.subject for m in mails] == [
        "Dossier ACD-2026-000001 : pris en charge",
        "Dossier ACD-2026-000001 : complément demandé",
        "Dossier ACD-2026-000001 : nouveau message",
    ]
    decisions = Communication.select().order_by(Communication.id)
    for mail, decision in zip(mails, decisions, strict=True):
        link = f"/espaces/{world['space'].id}/communications/{decision.id}"
        assert link in mail.body_text and link in mail.body_html
        for secret in ("procès-verbal", "document manque", "Jean Dupont", "1983081974925"):
            assert secret not in mail.body_text and secret not in html.unescape(mail.body_html)


@pytest.mark.parametrize("headers, partial", [({}, False), (HTMX, True)], ids=["plain", "htmx"])
def test_a_missing_reason_is_422_beside_its_field_and_changes_nothing(client, world, headers, partial):
    post(client, world, "/prendre-en-charge")
    before = state(world["dossier"].id)
    for path, field in (("/refuser", "reject-text"), ("/complement", "complement-text")):
        response = post(client, world, path, {field: "   "}, headers)
        body = text(response)
        assert response.status_code == 422 and ("<html" not in body) == partial
        assert f'id="{field}-error"' in body and 'aria-invalid="true"' in body
        assert ("Indiquez le motif du refus" in body) == (path == "/refuser")
    assert state(world["dossier"].id) == before
    too_long = post(client, world, "/refuser", {"reject-text": "x" * 4001}, headers)
    assert too_long.status_code == 422 and state(world["dossier"].id) == before


@pytest.mark.parametrize("headers, partial", [({}, False), (HTMX, True)], ids=["plain", "htmx"])
def test_an_illegal_or_stale_decision_is_409_with_the_page_as_it_is(client, world, headers, partial):
    before = state(world["dossier"].id)
    response = post(client, world, "/accepter", headers=headers)  # nobody took it
    body = text(response)
    assert response.status_code == 409 and ("<html" not in body) == partial
    assert "Cette décision n'est pas possible pour un dossier au statut « Transmis »." in body
    assert f'action="{world["page"]}/prendre-en-charge"' in body  # what is possible now
    assert state(world["dossier"].id) == before
    Dossier.update(status="rejected").where(Dossier.id == world["dossier"].id).execute()  # another agent
    response = post(client, world, "/prendre-en-charge", headers=headers)
    assert response.status_code == 409 and "« Refusé »" in text(response)


@WAYS
def test_an_agent_writes_to_the_company(client, world, headers, partial):
    answered(
        post(client, world, "/messages", {"body": "Bonjour, votre dossier est complet."}, headers),
        partial,
        world,
    )
    body = text(client.get(world["page"]))
    assert "Bonjour, votre dossier est complet." in body and "Message envoyé" in body
    assert DossierMessage.get().author == "Agnès Agent (ACD)"
    empty = post(client, world, "/messages", {"body": " "}, headers)
    assert empty.status_code == 422 and "Écrivez votre message." in text(empty)
    assert DossierMessage.select().count() == 1


# --- Another administration's agent -------------------------------------------------------------


def dossier_urls(world):
    page = world["page"]
    return [
        ("GET", page),
        ("GET", page + "/accuses/1"),
        ("GET", f"{page}/fichiers/{world['minutes'].id}"),
        ("POST", page + "/prendre-en-charge"),
        ("POST", page + "/complement"),
        ("POST", page + "/accepter"),
        ("POST", page + "/refuser"),
        ("POST", page + "/messages"),
    ]


def test_every_url_of_a_dossier_is_covered(app, world):
    rules = {
        r.rule
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith("backoffice.") and "dossier_id" in r.arguments
    }
    assert len(rules) == 5 and len(dossier_urls(world)) == 8


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_another_administrations_agent_finds_nothing(app, world, clock, headers):
    factories.agent("ITM", "agent.itm", name="Igor Agent")
    igor = app.test_client()
    assert agent_log_in(igor, "agent.itm").headers["Location"] == "/back-office"
    token = csrf_token(igor.get(QUEUE).get_data(as_text=True))
    assert "ACD-2026-000001" not in text(igor.get(QUEUE)) and "0 dossier" in text(igor.get(QUEUE))
    before = state(world["dossier"].id)
    for method, url in dossier_urls(world):
        data = {"csrf_token": token, "complement-text": "x", "reject-text": "x", "body": "x"}
        response = igor.open(url, method=method, data=data if method == "POST" else None, headers=headers)
        assert response.status_code == 404, (method, url)
        assert b"%PDF" not in response.data and b"Guichet" not in response.data
    assert state(world["dossier"].id) == before


def test_a_draft_is_not_found(client, world):
    draft = factories.dossier(world["space"], world["procedure"])
    assert client.get(f"{QUEUE}/{draft.id}").status_code == 404
    assert (
        post(client, {**world, "page": f"{QUEUE}/{draft.id}"}, "/messages", {"body": "x"}).status_code == 404
    )
    assert client.get(f"{QUEUE}/99999999999").status_code == 404


def test_without_a_session_every_url_goes_to_the_login(app, world):
    stranger = app.test_client()
    token = csrf_token(stranger.get("/back-office/connexion").get_data(as_text=True))
    for method, url in [("GET", QUEUE), *dossier_urls(world)]:
        response = stranger.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
        assert (response.status_code, response.headers.get("Location")) == (303, "/back-office/connexion"), (
            url
        )


def test_an_unknown_decision_is_not_found(client, world):
    assert post(client, world, "/approuver").status_code == 404
    assert Dossier.get_by_id(world["dossier"].id).status == "submitted"
