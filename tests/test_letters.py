"""Postal letters: queued with their code encrypted, printed as A4 PDFs, posted."""

import io

import pytest
from pypdf import PdfReader

from models import Letter
from services import letters


def make_letter(code=None, name="Madame Léa Guichet"):
    return letters.queue_letter(
        name,
        ["11, allée du Guichet", "", "L-0000 Luxembourg"],
        "Confirmation de votre enregistrement auprès d'une application Internet",
        "Votre enregistrement est confirmé. Cœur de l’œuvre : 100 €.",
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
            "Guichet SARL", address, "Votre code d'accès", "Corps", code="ABCD-EFGH-JKMN-PQRS-TUVW"
        )
    assert Letter.select().count() == 0
