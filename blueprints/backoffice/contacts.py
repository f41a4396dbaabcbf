"""The helpdesk's Contacts (the messages sent with Contacter le Helpdesk: the queue, a
message's page, Répondre) and Avis (the opinions given at the foot of the pages). Répondre is a
real POST: a 303 to the message's page, which htmx swaps in place; a refusal shows the page
again with its message and status (422 an empty answer, 409 one answered already)."""

from flask import flash, url_for
from flask_babel import format_decimal, gettext as _

from blueprints.backoffice import bp
from blueprints.backoffice.routes import helpdesk_required
from blueprints.forms import refused_beside
from blueprints.help.forms import ContactAnswerForm
from blueprints.htmx import htmx_location, is_htmx, render_page_or_partial
from blueprints.params import page_number, search_query
from database import PAGE_SIZE
from services import contact


@bp.get("/helpdesk/contacts")
@helpdesk_required
def contacts(agent):
    page = page_number()
    rows, total = contact.contact_queue(agent, page)
    return render_page_or_partial(
        "backoffice/contacts.html",
        "backoffice/_contacts.html",
        agent=agent,
        rows=rows,
        total=total,
        unanswered=contact.unanswered_count(agent),
        page=page,
        per_page=PAGE_SIZE,
    )


def request_page(agent, contact_id, status=200, form=None, error=None):
    return render_page_or_partial(
        "backoffice/contacts_request.html",
        "backoffice/_contacts_request.html",
        status=status,
        agent=agent,
        request_=contact.contact_request(agent, contact_id),
        form=form or ContactAnswerForm(formdata=None),
        error=error,
        inline_flashes=is_htmx(),  # a full page shows them in the layout already
    )


@bp.get("/helpdesk/contacts/<id:contact_id>")
@helpdesk_required
def contact_request(agent, contact_id):
    return request_page(agent, contact_id)


@bp.post("/helpdesk/contacts/<id:contact_id>/reponse")
@helpdesk_required
def answer_contact(agent, contact_id):
    form = ContactAnswerForm()
    if not form.validate_on_submit():
        return request_page(agent, contact_id, 422, form=form)
    try:
        answered = contact.answer(agent, contact_id, form.answer.data)
    except contact.AnswerMissing as refused:
        refused_beside(form.answer, refused.message)
        return request_page(agent, contact_id, refused.status, form=form)
    except contact.AlreadyAnswered as refused:
        return request_page(agent, contact_id, refused.status, error=refused.message)
    flash(_("Réponse envoyée à %(email)s.", email=answered.email), "success")
    return htmx_location(url_for("backoffice.contact_request", contact_id=contact_id), "#contact-request")


@bp.get("/helpdesk/avis")
@helpdesk_required
def feedback(agent):
    page, query = page_number(), search_query()
    rows, summary = contact.feedback_list(agent, page, query)
    return render_page_or_partial(
        "backoffice/feedback.html",
        "backoffice/_feedback.html",
        agent=agent,
        rows=rows,
        summary=summary,
        average=format_decimal(summary.average, "0.0") if summary.average is not None else None,
        query=query,
        args={"q": query} if query else {},
        ratings=contact.RATINGS,
        page=page,
        per_page=PAGE_SIZE,
    )
