"""Dossiers in the back-office: the queue of the agent's administration (filters, search,
pages), a dossier's page (data, receipts, attachments, history, thread) and the decisions.
Every form is a real POST: a 303 to the dossier's page, which htmx swaps in place; a
refusal shows the page again with its message and status (422 a missing text, 409 a
decision the dossier's status no longer allows)."""

from flask import abort, flash, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.utils import secure_filename

from blueprints.backoffice import bp
from blueprints.backoffice.forms import DossierDecisionForm, DossierMessageForm
from blueprints.backoffice.routes import agent_required
from blueprints.forms import refused_beside
from blueprints.htmx import htmx_location, is_htmx, render_page_or_partial
from blueprints.params import MAX_ID, page_number, search_query
from blueprints.responses import file_response
from blueprints.templating import translated
from database import PAGE_SIZE
from services import dossier_queue, dossiers, spaces

# A decision's URL, by its key in dossier_queue.DECISIONS, and what is said once taken.
PATHS = {"take": "prendre-en-charge", "complement": "complement", "accept": "accepter", "reject": "refuser"}
KEYS = {path: key for key, path in PATHS.items()}
DONE = {
    "take": _l("Dossier pris en charge : il est en cours de traitement."),
    "complement": _l("Complément demandé : l'entreprise est prévenue."),
    "accept": _l("Dossier accepté : l'entreprise est prévenue."),
    "reject": _l("Dossier refusé : l'entreprise est prévenue."),
}


def queue_filters():
    """The queue's status, procedure and search, as the filter form sends them."""
    status = request.args.get("status", "")
    procedure = request.args.get("procedure", type=int)
    return {
        "status": status if status in dossier_queue.QUEUE_STATUSES else "",
        "procedure": procedure if procedure and 0 < procedure <= MAX_ID else None,
        "query": search_query(),
    }


@bp.get("/dossiers")
@agent_required
def queue(agent):
    filters, page = queue_filters(), page_number()
    rows, total = dossier_queue.queue(agent, page=page, **filters)
    args = {"status": filters["status"], "procedure": filters["procedure"], "q": filters["query"]}
    return render_page_or_partial(
        "backoffice/dossiers.html",
        "backoffice/_dossiers.html",
        agent=agent,
        rows=rows,
        total=total,
        page=page,
        per_page=PAGE_SIZE,
        filters=filters,
        args={name: value for name, value in args.items() if value},
        statuses=translated(dossier_queue.QUEUE_STATUSES),
        procedures=dossier_queue.procedures(agent),
    )


def decision_form(key, **kwargs):
    """A decision's form, its text labelled for what the decision requires."""
    form = DossierDecisionForm(prefix=key, **kwargs)
    form.text.label.text = dossier_queue.DECISIONS[key].text_label or form.text.label.text
    return form


def dossier_page(agent, dossier_id, status=200, forms=None, message_form=None, error=None):
    """The dossier's page (its card for htmx): a decision form for each decision its status
    allows, `forms` replacing the blank ones of a refused post."""
    found = dossier_queue.dossier_of(agent, dossier_id)
    actions = dossier_queue.actions_for(found)
    blank = {d.key: decision_form(d.key, formdata=None) for d in actions}
    page = page_number()
    messages, total = dossiers.thread(found, page)
    return render_page_or_partial(
        "backoffice/dossier.html",
        "backoffice/_dossier.html",
        status=status,
        agent=agent,
        dossier=found,
        actions=actions,
        forms={**blank, **{key: form for key, form in (forms or {}).items() if key in blank}},
        paths=PATHS,
        message_form=message_form or DossierMessageForm(formdata=None),
        history=dossiers.history(found),
        files=dossier_queue.files(found),
        receipts=dossier_queue.receipts(found),
        messages=messages,
        total=total,
        page=page,
        per_page=PAGE_SIZE,
        statuses=dossiers.STATUSES,
        events=dossiers.EVENTS,
        thread_open=dossiers.THREAD_OPEN,
        error=error,
        inline_flashes=is_htmx(),  # a full page shows them in the layout already
    )


def done(dossier_id, message):
    flash(str(message), "success")
    return htmx_location(url_for("backoffice.dossier", dossier_id=dossier_id), "#dossier")


@bp.get("/dossiers/<id:dossier_id>")
@agent_required
def dossier(agent, dossier_id):
    return dossier_page(agent, dossier_id)


@bp.post("/dossiers/<id:dossier_id>/<decision>")
@agent_required
def decide_dossier(agent, dossier_id, decision):
    key = KEYS.get(decision) or abort(404)
    form = decision_form(key)
    if not form.validate_on_submit():
        return dossier_page(agent, dossier_id, 422, forms={key: form})
    try:
        dossier_queue.decide(agent, dossier_id, key, form.text.data)
    except spaces.InvalidInput as refused:
        refused_beside(form.text, refused.message)
        return dossier_page(agent, dossier_id, refused.status, forms={key: form})
    except (dossier_queue.DecisionNotAllowed, dossiers.StatusChanged) as refused:
        return dossier_page(agent, dossier_id, refused.status, error=refused.message)
    return done(dossier_id, DONE[key])


@bp.post("/dossiers/<id:dossier_id>/messages")
@agent_required
def send_message(agent, dossier_id):
    form = DossierMessageForm()
    if form.validate_on_submit():
        try:
            dossier_queue.send_message(agent, dossier_id, form.body.data)
        except dossiers.MessageMissing as refused:
            refused_beside(form.body, refused.message)
        except dossiers.ThreadClosed as refused:
            return dossier_page(agent, dossier_id, refused.status, error=refused.message)
        else:
            return done(dossier_id, _l("Message envoyé : l'entreprise est prévenue."))
    return dossier_page(agent, dossier_id, 422, message_form=form)


# Files sent by the companies: downloads, never rendered in the back-office's origin.


@bp.get("/dossiers/<id:dossier_id>/accuses/<id:number>")
@agent_required
def receipt(agent, dossier_id, number):
    found, receipt_ = dossier_queue.receipt_of(agent, dossier_id, number)
    name = secure_filename(f"accuse-{found.reference or found.id}-{receipt_.number}.pdf")
    return file_response(bytes(receipt_.pdf), "application/pdf", name, download=True)


@bp.get("/dossiers/<id:dossier_id>/fichiers/<id:file_id>")
@agent_required
def dossier_file(agent, dossier_id, file_id):
    found = dossier_queue.file_of(agent, dossier_id, file_id)
    name = secure_filename(found.name) or f"fichier-{found.id}"
    return file_response(bytes(found.content), found.content_type, name, download=True)
