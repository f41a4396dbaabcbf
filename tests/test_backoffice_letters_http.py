"""Courriers over HTTP: the agent's postal queue (the helpdesk's: the portal's), a letter's
PDF, Imprimer le lot (a PDF download), Marquer comme posté as an htmx swap, a plain post and
a boosted one (303); another queue's letters are not found; the page's query budget."""

import html
import io
import json
import re

import pytest
from pypdf import PdfReader

import factories
from helpers import BOOSTED, HTMX, agent_log_in, assert_constant_queries, csrf_token
from models import Administration, AuditEntry, Letter
from services import catalogue, letters

QUEUE = "/back-office/courriers"
WAYS = pytest.mark.parametrize(
    "headers, partial", [({}, False), (HTMX, True), (BOOSTED, False)], ids=["plain", "htmx", "boosted"]
)


def text(response):
    return html.unescape(response.get_data(as_text=True))


def pdf_pages(response):
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(response.data)).pages]


@pytest.fixture
def world(app, client, clock):
    catalogue.load()
    acd, itm = Administration.get(code="ACD"), Administration.get(code="ITM")
    world = type("World", (), {})()
    world.acd = [factories.queued_letter(f"Société {n}", acd.id, code=f"CODE-{n}") for n in (1, 2, 3)]
    world.itm = factories.queued_letter("Société ITM", itm.id, code="CODE-ITM")
    world.portal = factories.queued_letter("Léa Guichet")
    world.agent = factories.agent("ACD", "agent.acd", name="Anne Agent")
    assert agent_log_in(client, "agent.acd").status_code == 303
    world.token = csrf_token(client.get(QUEUE).get_data(as_text=True))
    return world


def post(client, world, url, letters_=(), headers=None):
    data = {"csrf_token": world.token, "letter": [str(letter) for letter in letters_]}
    return client.post(url, data=data, headers=headers or {})


def test_the_queue_lists_the_administrations_letters_to_post_first(client, world):
    letters.post_letters(world.agent, [world.acd[0].id])
    page = text(client.get(QUEUE))
    assert page.index("Société 2") < page.index("Société 3") < page.index("Société 1")
    assert "Société ITM" not in page and "Léa Guichet" not in page
    assert "2 courriers à poster · 3 courriers en tout" in page
    assert re.search(r"Posté le \d\d/\d\d/\d\d\d\d", page)
    first = world.acd[0].id
    assert f'id="check-letter-{first}"' not in page and f"/courriers/{first}.pdf" not in page
    for letter in world.acd[1:]:
        assert f'name="letter" value="{letter.id}"' in page and f"/courriers/{letter.id}.pdf" in page
    assert "CODE-" not in page


def test_the_helpdesk_sees_the_portals_letters(app, world):
    factories.helpdesk()
    helpdesk = app.test_client()
    agent_log_in(helpdesk, "helpdesk")
    page = text(helpdesk.get(QUEUE))
    assert "Courriers · Helpdesk" in page and "Léa Guichet" in page and "Société 1" not in page
    assert helpdesk.get(f"{QUEUE}/{world.acd[0].id}.pdf").status_code == 404
    assert "Léa Guichet" in pdf_pages(helpdesk.get(f"{QUEUE}/{world.portal.id}.pdf"))[0]


def test_a_letters_pdf_is_its_queues_only_and_not_once_posted(client, world):
    [page] = pdf_pages(client.get(f"{QUEUE}/{world.acd[1].id}.pdf"))
    assert "Société 2" in page and "CODE-2" in page
    assert Letter.get_by_id(world.acd[1].id).printed_at is not None
    assert client.get(f"{QUEUE}/{world.itm.id}.pdf").status_code == 404
    assert client.get(f"{QUEUE}/{world.portal.id}.pdf").status_code == 404
    letters.post_letters(world.agent, [world.acd[1].id])
    gone = client.get(f"{QUEUE}/{world.acd[1].id}.pdf")
    assert gone.status_code == 410 and "le code qu'il portait a été effacé" in text(gone)
    assert "<h1>Courrier posté</h1>" in text(gone) and 'href="/back-office/courriers"' in text(gone)


def test_print_the_checked_letters_or_every_one_to_post(client, world):
    first, second, third = world.acd
    pages = pdf_pages(post(client, world, QUEUE + "/imprimer", [third.id, first.id]))
    assert len(pages) == 2 and "CODE-1" in pages[0] and "CODE-3" in pages[1]
    assert [Letter.get_by_id(letter.id).printed_at is not None for letter in world.acd] == [True, False, True]
    assert AuditEntry.select().where(AuditEntry.action == "letter.printed").count() == 2

    pages = pdf_pages(post(client, world, QUEUE + "/imprimer"))
    assert [page.split("Société ")[1][0] for page in pages] == ["1", "2", "3"]
    assert "Imprimé le" in text(client.get(QUEUE))


def test_printing_refuses_other_queues_and_says_when_nothing_is_left(client, world):
    assert post(client, world, QUEUE + "/imprimer", [world.acd[0].id, world.itm.id]).status_code == 404
    assert post(client, world, QUEUE + "/imprimer", ["abc"]).status_code == 404
    assert post(client, world, QUEUE + "/imprimer", ["99999999999"]).status_code == 404
    assert Letter.select().where(Letter.printed_at.is_null(False)).count() == 0
    letters.post_letters(world.agent, [letter.id for letter in world.acd])
    response = post(client, world, QUEUE + "/imprimer", headers=HTMX)
    assert response.status_code == 422 and "Aucun courrier à imprimer" in text(response)
    assert text(response).lstrip().startswith('<section class="panel" id="letters">')


@WAYS
def test_mark_the_checked_letters_posted(client, world, headers, partial):
    first, second, _third = world.acd
    response = post(client, world, QUEUE + "/poste", [first.id, second.id], headers)
    if partial:
        assert response.status_code == 200
        assert json.loads(response.headers["HX-Location"]) == {
            "path": QUEUE,
            "target": "#letters",
            "swap": "outerHTML",
        }
        page = text(client.get(QUEUE, headers=HTMX))
        assert page.lstrip().startswith('<section class="panel" id="letters">')
    else:
        assert response.status_code == 303 and response.headers["Location"] == QUEUE
        page = text(client.get(QUEUE))
    assert "2 courriers marqués comme postés : leurs codes sont effacés." in page
    for letter in (first, second):
        assert Letter.get_by_id(letter.id).code_encrypted is None
    assert Letter.get_by_id(world.acd[2].id).code_encrypted is not None

    again = post(client, world, f"{QUEUE}/{first.id}/poste")
    assert again.status_code == 303
    assert "Ces courriers étaient déjà marqués comme postés." in text(client.get(QUEUE))


@WAYS
def test_mark_one_letter_posted(client, world, headers, partial):
    third = world.acd[2]
    # Its button is in the queue's form: the checked boxes come along and do not count.
    response = post(client, world, f"{QUEUE}/{third.id}/poste", [world.acd[0].id], headers)
    assert response.status_code == (200 if partial else 303)
    assert Letter.get_by_id(third.id).posted_at is not None
    assert Letter.get_by_id(world.acd[0].id).posted_at is None
    assert "1 courrier marqué comme posté : son code est effacé." in text(client.get(QUEUE))


def test_posting_needs_a_checked_letter_and_ones_own_queue(client, world):
    response = post(client, world, QUEUE + "/poste", headers=HTMX)
    assert response.status_code == 422 and "Cochez les courriers postés." in text(response)
    assert post(client, world, f"{QUEUE}/{world.itm.id}/poste").status_code == 404
    assert post(client, world, QUEUE + "/poste", [world.acd[0].id, world.portal.id]).status_code == 404
    assert Letter.select().where(Letter.posted_at.is_null(False)).count() == 0
    assert (
        client.post(QUEUE + "/poste", data={"letter": [str(world.acd[0].id)]}).status_code == 400
    )  # no CSRF


def test_the_queue_pages_with_a_constant_number_of_queries(client, world):
    administration_id = world.agent.administration_id

    def grow(count):
        while Letter.select().where(Letter.administration == administration_id).count() < count:
            letter = factories.queued_letter("Société N", administration_id, code="CODE-N")
            if letter.id % 3 == 0:
                letters.mark_posted([letter.id])

    assert assert_constant_queries(client, QUEUE, grow, small=5, large=120) <= 10
    second = text(client.get(QUEUE + "?page=2"))
    assert "Page 2 sur 3" in second
