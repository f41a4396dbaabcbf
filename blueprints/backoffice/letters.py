"""Courriers: the postal queue of the agent's administration (the helpdesk's: the portal's
own letters), to post first, then posted. One PDF per letter; Imprimer le lot (the checked
letters, or every one to post) as one PDF to download, the letters marked printed;
Marquer comme posté (a letter, or the checked ones): their codes are erased. One form holds
the checkboxes and both buttons, so that all of it works without JavaScript; htmx posts
Marquer comme posté in place."""

from flask import abort, flash, url_for
from flask_babel import gettext as _, ngettext

from blueprints.backoffice import bp
from blueprints.backoffice.routes import any_agent_required, gone_page
from blueprints.htmx import htmx_location, is_htmx, render_page_or_partial
from blueprints.params import form_ids, page_number
from blueprints.responses import file_response
from database import PAGE_SIZE
from services import letters as postal


def letters_page(agent, status=200, error=None):
    page = page_number()
    rows, total, to_post = postal.queue(agent, page)
    return render_page_or_partial(
        "backoffice/letters.html",
        "backoffice/_letters.html",
        status=status,
        agent=agent,
        rows=rows,
        total=total,
        to_post=to_post,
        page=page,
        per_page=PAGE_SIZE,
        error=error,
        inline_flashes=is_htmx(),  # a full page shows them in the layout already
    )


def checked_letters():
    """The ids of the checked letters; one that is no id is of no letter."""
    ids = form_ids("letter")
    if ids is None:
        abort(404)
    return ids


@bp.get("/courriers")
@any_agent_required
def letters(agent):
    return letters_page(agent)


@bp.get("/courriers/<id:letter_id>.pdf")
@any_agent_required
def letter_pdf(agent, letter_id):
    try:
        letter, pdf = postal.print_letter(agent, letter_id)
    except postal.LetterPosted as gone:
        return gone_page(
            agent, "letters", _("Courrier posté"), gone, "backoffice.letters", _("Retour aux courriers")
        )
    return file_response(pdf, "application/pdf", f"courrier-{letter.id}.pdf", download=True)


@bp.post("/courriers/imprimer")
@any_agent_required
def print_letters(agent):
    try:
        batch, pdf = postal.print_letters(agent, checked_letters())
    except (postal.NothingToPrint, postal.LetterPosted) as refused:
        return letters_page(agent, refused.status, refused.message)
    name = f"courriers-{batch[0].id}-{batch[-1].id}.pdf"
    return file_response(pdf, "application/pdf", name, download=True)


def posted(agent, letter_ids):
    try:
        count = postal.post_letters(agent, letter_ids)
    except postal.NothingSelected as refused:
        return letters_page(agent, refused.status, refused.message)
    if count:
        message = ngettext(
            "%(num)d courrier marqué comme posté : son code est effacé.",
            "%(num)d courriers marqués comme postés : leurs codes sont effacés.",
            count,
        )
    else:
        message = _("Ces courriers étaient déjà marqués comme postés.")
    flash(message, "success")
    return htmx_location(url_for("backoffice.letters"), "#letters")


@bp.post("/courriers/poste")
@any_agent_required
def post_letters(agent):
    return posted(agent, checked_letters())


@bp.post("/courriers/<id:letter_id>/poste")
@any_agent_required
def post_letter(agent, letter_id):
    return posted(agent, [letter_id])
