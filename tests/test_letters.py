"""Postal letters: queued with their code encrypted, printed as A4 PDFs, posted."""

import io
from datetime import timedelta
from types import SimpleNamespace

import pytest
from pypdf import PdfReader

import factories
from helpers import at_once
from models import Administration, AuditEntry, Letter, Service
from services import letters


def make_letter(code=None, name="Madame Léa Guichet", language="fr"):
    return letters.queue_letter(
        name,
        ["11, allée du Guichet", "", "L-0000 Luxembourg"],
        "Confirmation de votre enregistrement auprès d'une application Internet",
        "Votre enregistrement est confirmé. Cœur de l’œuvre : 100 €.",
        language=language,
        code=code,
    )


def pdf_pages(data):
    assert data.startswith(b"%PDF")
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages]


def test_letter_pdf_carries_address_subject_body_and_code(app):
    letter = make_letter(code="ABCD-EFGH-JKMN-PQRS-TUVW")
    [text] = pdf_pages(letters.render_pdf([letter]))
    for expected in (
        "Madame Léa Guichet",
        "11, allée du Guichet",
        "L-0000 Luxembourg",
        "Confirmation de votre enregistrement",
        "Cœur de l’œuvre : 100 €",
        "ABCD-EFGH-JKMN-PQRS-TUVW",
        "Espace Pro",
    ):
        assert expected in text


def test_page_is_a4_with_the_address_in_the_envelope_window(app):
    reader = PdfReader(io.BytesIO(letters.render_pdf([make_letter()])))
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (210, 297)
    positions = []
    reader.pages[0].extract_text(visitor_text=lambda text, cm, tm, *_: positions.append((text, tm[4], tm[5])))
    x, y = next((x, y) for text, x, y in positions if "Madame Léa Guichet" in text)
    # DIN 5008 window: 20–105 mm from the left, 45–90 mm from the top.
    assert 20 <= x / 72 * 25.4 <= 105
    assert 45 <= 297 - y / 72 * 25.4 <= 90


def test_code_is_stored_encrypted_and_erased_when_posted(app):
    letter = make_letter(code="ABCD-EFGH-JKMN-PQRS-TUVW")
    stored = Letter.get_by_id(letter.id)
    assert "ABCD" not in stored.code_encrypted
    assert letters.carried_code(stored) == "ABCD-EFGH-JKMN-PQRS-TUVW"
    assert letters.mark_posted([letter.id]) == 1
    posted = Letter.get_by_id(letter.id)
    assert posted.posted_at is not None and posted.code_encrypted is None
    assert letters.mark_posted([letter.id]) == 0  # posting twice changes nothing


def test_batch_is_one_page_per_letter_of_the_pending_ones(app, client):
    first, second, third = make_letter(name="A Un"), make_letter(name="B Deux"), make_letter(name="C Trois")
    letters.mark_posted([second.id])
    pages = pdf_pages(client.get("/dev/courriers/a-imprimer.pdf").data)
    assert len(pages) == 2
    assert "A Un" in pages[0] and "C Trois" in pages[1]
    single = client.get(f"/dev/courriers/{third.id}.pdf")
    assert single.headers["Content-Type"] == "application/pdf"
    assert "C Trois" in pdf_pages(single.data)[0]
    assert letters.mark_printed([first.id, third.id]) == 2
    assert client.get("/dev/courriers/999.pdf").status_code == 404


@pytest.mark.parametrize("address", [[], ["", "  "]])
def test_a_letter_without_a_postal_address_is_not_queued(app, address):
    with pytest.raises(letters.NoPostalAddress):
        letters.queue_letter(
            "Guichet SARL",
            address,
            "Votre code d'accès",
            "Corps",
            language="fr",
            code="ABCD-EFGH-JKMN-PQRS-TUVW",
        )
    assert Letter.select().count() == 0


# --- The postal queues: an administration's, the portal's ----------------------------------


@pytest.fixture
def queues(app, clock, request_context):
    """Letters in the ACD's queue, the ITM's and the portal's, and a mandate's (in none)."""
    from services import catalogue

    catalogue.load()
    acd, itm = Administration.get(code="ACD"), Administration.get(code="ITM")
    clock.advance(minutes=1)
    return SimpleNamespace(
        acd_agent=factories.agent("ACD", "agent.acd", name="Anne Agent"),
        itm_agent=factories.agent("ITM", "agent.itm"),
        helpdesk=factories.helpdesk(),
        acd=[factories.queued_letter(f"ACD {n}", acd.id, code=f"CODE-ACD-{n}") for n in (1, 2, 3)],
        itm=factories.queued_letter("ITM 1", itm.id, code="CODE-ITM-1"),
        portal=factories.queued_letter("Léa Guichet"),
        mandate=mandate_letter(),
    )


def mandate_letter():
    holder = factories.certified_member("fiona", name="Mandante", identifier="B222222")
    from services import mandates

    granted, _code = mandates.grant_mandate(
        holder, holder.user, Service.get(slug="fiches-retenue").id, clock_date(days=60)
    )
    return granted.letter


def clock_date(days):
    import clock

    return (clock.now() + timedelta(days=days)).date()


def names(rows):
    return [letter.recipient_name for letter in rows]


def test_each_agent_sees_its_administrations_queue_and_the_helpdesk_the_portals(queues):
    rows, total, to_post = letters.queue(queues.acd_agent)
    assert (names(rows), total, to_post) == (["ACD 1", "ACD 2", "ACD 3"], 3, 3)
    assert names(letters.queue(queues.itm_agent)[0]) == ["ITM 1"]
    assert names(letters.queue(queues.helpdesk)[0]) == ["Léa Guichet"]  # not the mandate's letter
    assert queues.mandate.id not in [letter.id for letter in letters.pending()]
    assert names(letters.pending()) == ["ACD 1", "ACD 2", "ACD 3", "ITM 1", "Léa Guichet"]
    for agent, letter in ((queues.itm_agent, queues.acd[0]), (queues.acd_agent, queues.portal)):
        with pytest.raises(letters.LetterNotFound):
            letters.letter_of(agent, letter.id)
    with pytest.raises(letters.LetterNotFound):
        letters.letter_of(queues.helpdesk, queues.mandate.id)


def test_letters_to_post_come_first_then_the_posted_latest_first(queues, clock):
    first, second, third = queues.acd
    letters.post_letters(queues.acd_agent, [first.id])
    clock.advance(minutes=5)
    letters.post_letters(queues.acd_agent, [third.id])
    rows, total, to_post = letters.queue(queues.acd_agent)
    assert (names(rows), total, to_post) == (["ACD 2", "ACD 3", "ACD 1"], 3, 1)


def test_printing_a_batch_marks_the_letters_printed_and_audits_each(queues, clock):
    first, second, third = queues.acd
    batch, pdf = letters.print_letters(queues.acd_agent, [third.id, first.id])
    assert [letter.id for letter in batch] == [first.id, third.id]
    pages = pdf_pages(pdf)
    assert len(pages) == 2 and "ACD 1" in pages[0] and "CODE-ACD-1" in pages[0] and "ACD 3" in pages[1]
    assert [Letter.get_by_id(letter.id).printed_at for letter in queues.acd] == [
        clock.now(),
        None,
        clock.now(),
    ]
    entries = AuditEntry.select().where(AuditEntry.action == "letter.printed").order_by(AuditEntry.id)
    assert [(e.actor, e.details) for e in entries] == [
        ("Anne Agent (ACD)", {"letter_id": first.id}),
        ("Anne Agent (ACD)", {"letter_id": third.id}),
    ]

    # Without a choice: every letter to post (printed already or not); the first print's time stays.
    clock.advance(hours=1)
    letters.post_letters(queues.acd_agent, [third.id])
    batch, pdf = letters.print_letters(queues.acd_agent)
    assert names(batch) == ["ACD 1", "ACD 2"] and len(pdf_pages(pdf)) == 2
    assert Letter.get_by_id(first.id).printed_at == clock.now() - timedelta(hours=1)


def test_printing_refuses_another_queues_letters_and_posted_ones(queues):
    before = list(Letter.select().tuples())
    with pytest.raises(letters.LetterNotFound):
        letters.print_letters(queues.acd_agent, [queues.acd[0].id, queues.itm.id])
    with pytest.raises(letters.LetterNotFound):
        letters.print_letters(queues.acd_agent, [10**6])
    assert list(Letter.select().tuples()) == before

    letters.post_letters(queues.acd_agent, [queues.acd[0].id])
    with pytest.raises(letters.LetterPosted):
        letters.print_letters(queues.acd_agent, [queues.acd[0].id])
    with pytest.raises(letters.LetterPosted):
        letters.print_letter(queues.acd_agent, queues.acd[0].id)
    letters.post_letters(queues.itm_agent, [queues.itm.id])
    with pytest.raises(letters.NothingToPrint):
        letters.print_letters(queues.itm_agent)


def test_posting_erases_the_codes_once_and_only_in_the_agents_queue(queues, clock):
    first, second, _third = queues.acd
    with pytest.raises(letters.NothingSelected):
        letters.post_letters(queues.acd_agent, [])
    with pytest.raises(letters.LetterNotFound):
        letters.post_letters(queues.acd_agent, [first.id, queues.itm.id])
    assert Letter.get_by_id(first.id).posted_at is None

    assert letters.post_letters(queues.acd_agent, [first.id, second.id]) == 2
    for letter in (first, second):
        stored = Letter.get_by_id(letter.id)
        assert (stored.posted_at, stored.code_encrypted) == (clock.now(), None)
    assert letters.carried_code(Letter.get_by_id(queues.itm.id)) == "CODE-ITM-1"
    assert letters.post_letters(queues.acd_agent, [first.id]) == 0  # twice changes nothing
    entries = AuditEntry.select().where(AuditEntry.action == "letter.posted")
    assert sorted(e.details["letter_id"] for e in entries) == [first.id, second.id]


def test_two_agents_posting_a_letter_at_once_post_it_once(queues, app):
    letter_id, agent_ids = queues.acd[0].id, [queues.acd_agent.id, factories.agent("ACD", "agent.acd2").id]
    counts = []

    def post(agent_id):
        from models import Agent

        counts.append(letters.post_letters(Agent.get_by_id(agent_id), [letter_id]))

    assert at_once(app, [lambda: post(agent_ids[0]), lambda: post(agent_ids[1])]) == ["ok", "ok"]
    assert sorted(counts) == [0, 1]
    assert AuditEntry.select().where(AuditEntry.action == "letter.posted").count() == 1


def test_an_issued_code_goes_to_its_administrations_queue(queues):
    factories.access_code("ITM", "elections-sociales", company="B777777")
    assert names(letters.queue(queues.itm_agent)[0]) == ["ITM 1", "Société B777777"]


# --- The command line ------------------------------------------------------------------------


def test_letters_print_writes_the_pending_letters_of_one_queue_or_all(queues, runner, tmp_path, clock):
    out = tmp_path / "acd.pdf"
    result = runner.invoke(args=["letters-print", "--out", str(out), "--administration", "ACD"])
    assert result.exit_code == 0, result.output
    pages = pdf_pages(out.read_bytes())
    assert len(pages) == 3 and all("CODE-ACD" in page for page in pages)
    assert f"3 courriers dans {out}" in result.output
    assert [Letter.get_by_id(letter.id).printed_at for letter in queues.acd] == [clock.now()] * 3
    assert Letter.get_by_id(queues.itm.id).printed_at is None
    assert AuditEntry.get(AuditEntry.action == "letter.printed").actor_id is None

    every = tmp_path / "all.pdf"
    result = runner.invoke(args=["letters-print", "--out", str(every)])
    assert result.exit_code == 0 and len(pdf_pages(every.read_bytes())) == 5  # not the mandate's

    unknown = runner.invoke(
        args=["letters-print", "--out", str(tmp_path / "x.pdf"), "--administration", "XYZ"]
    )
    assert unknown.exit_code == 1 and "Aucune administration XYZ." in unknown.output


def test_letters_print_with_nothing_to_print_writes_nothing(app, runner, tmp_path):
    out = tmp_path / "none.pdf"
    result = runner.invoke(args=["letters-print", "--out", str(out)])
    assert result.exit_code == 0 and "Aucun courrier à imprimer." in result.output
    assert not out.exists()


def test_letters_posted_erases_the_codes(queues, runner):
    ids = [str(queues.acd[0].id), str(queues.portal.id)]
    result = runner.invoke(args=["letters-posted", *ids])
    assert result.exit_code == 0 and "2 courriers marqués comme postés" in result.output
    assert Letter.get_by_id(queues.acd[0].id).code_encrypted is None
    assert Letter.get_by_id(queues.portal.id).posted_at is not None

    mixed = runner.invoke(args=["letters-posted", str(queues.acd[1].id), str(queues.mandate.id), "999999"])
    assert mixed.exit_code == 1 and "1 courrier marqué comme posté" in mixed.stdout
    assert f"Aucun courrier à poster n° {queues.mandate.id}, 999999." in mixed.stderr
    assert Letter.get_by_id(queues.mandate.id).code_encrypted is not None  # a mandate's letter is no post's
    assert runner.invoke(args=["letters-posted", "abc"]).exit_code == 2
