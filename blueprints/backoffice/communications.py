"""Communications in the back-office: Envoyer une communication (a message and PDF documents
to the spaces of one company or of every company certified for one of the administration's
services), the administration's sent communications (searched, paged in place) and, for
each, its read receipts per space ("Lu le … par …", "Non lu"). The form is a real POST: a
303 to the communication sent; a refusal shows the form again beside its field, with 422."""

from flask import flash, request, url_for
from flask_babel import gettext as _, ngettext
from werkzeug.utils import secure_filename

from blueprints.backoffice import bp
from blueprints.backoffice.forms import CommunicationForm
from blueprints.backoffice.routes import agent_required
from blueprints.forms import options, refused_beside
from blueprints.htmx import htmx_redirect, render_page_or_partial
from blueprints.params import page_number, search_query, uploads_up_to
from blueprints.responses import file_response
from database import PAGE_SIZE
from services import languages, sent_communications, spaces
from services.communications import documents
from services.sent_communications import MAX_DOCUMENT, MAX_DOCUMENTS

# The documents and the text, with room for the form's other fields.
UPLOAD_LIMIT = MAX_DOCUMENTS * MAX_DOCUMENT + 1024 * 1024


@bp.get("/communications")
@agent_required
def communications(agent):
    query, page = search_query(), page_number()
    rows, total = sent_communications.sent(agent, query, page)
    return render_page_or_partial(
        "backoffice/communications.html",
        "backoffice/_communications.html",
        agent=agent,
        rows=rows,
        total=total,
        query=query,
        page=page,
        per_page=PAGE_SIZE,
    )


def form_page(agent, form, status=200):
    form.service.choices = options(
        [("", _("Choisissez…"))]
        + [
            (str(service.id), languages.localized(service, "name"))
            for service in sent_communications.audience_services(agent)
        ]
    )
    return render_page_or_partial(
        "backoffice/communication_new.html",
        "backoffice/_communication_form.html",
        status=status,
        agent=agent,
        form=form,
        max_documents=MAX_DOCUMENTS,
    )


@uploads_up_to(UPLOAD_LIMIT)
@bp.route("/communications/nouvelle", methods=["GET", "POST"])
@agent_required
def new_communication(agent):
    if request.method == "GET":
        return form_page(agent, CommunicationForm(formdata=None))
    form = CommunicationForm()
    if not form.validate_on_submit():
        return form_page(agent, form, 422)
    uploads = [
        sent_communications.Upload(upload.filename or "", upload.read())
        for upload in request.files.getlist(form.documents.name)
    ]
    try:
        communication, reached = sent_communications.send(
            agent,
            form.audience.data,
            form.identifier.data,
            form.service.data,
            form.subject.data,
            form.body.data,
            uploads,
        )
    except spaces.InvalidInput as refused:
        refused_beside(form[refused.field], refused.message)
        return form_page(agent, form, refused.status)
    flash(
        ngettext(
            "Communication envoyée : elle atteint aujourd'hui %(num)d espace.",
            "Communication envoyée : elle atteint aujourd'hui %(num)d espaces.",
            reached,
        ),
        "success",
    )
    return htmx_redirect(url_for("backoffice.communication", communication_id=communication.id))


@bp.get("/communications/<id:communication_id>")
@agent_required
def communication(agent, communication_id):
    found = sent_communications.sent_one(agent, communication_id)
    query, page = search_query(), page_number()
    rows, total = sent_communications.receipts(found, query, page)
    return render_page_or_partial(
        "backoffice/communication.html",
        "backoffice/_communication.html",
        agent=agent,
        communication=found,
        documents=documents(found),
        rows=rows,
        total=total,
        query=query,
        page=page,
        per_page=PAGE_SIZE,
    )


@bp.get("/communications/<id:communication_id>/documents/<id:document_id>")
@agent_required
def communication_document(agent, communication_id, document_id):
    document = sent_communications.agent_document(agent, communication_id, document_id)
    name = secure_filename(document.name) or f"document-{document.id}.pdf"
    return file_response(bytes(document.content), document.content_type, name, download=True)
