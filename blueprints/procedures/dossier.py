"""A dossier's page: status, history, data, receipts, attachments and the thread (Envoyer un
message); Vérifier et signer. Every form is a real POST: htmx swaps its card in place (the
thread, the signature), a plain post gets a 303 to the dossier's page."""

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.errors import with_retry_after
from blueprints.htmx import htmx_redirect, is_htmx, vary
from blueprints.params import page_number, uploads_up_to
from blueprints.procedures import bp
from blueprints.procedures.forms import MessageForm, SignForm
from blueprints.responses import file_response
from blueprints.space_pages import space_page, space_view
from database import PAGE_SIZE
from services import (
    dossier_data,
    dossier_files,
    dossier_thread,
    dossiers,
    files,
    procedures,
    receipts,
    submission,
    throttle,
)

DOSSIER = "/espaces/<id:space_id>/dossiers/<id:dossier_id>"


# For templates/procedures/_data.html, wherever it is included (the back-office too).
@bp.app_template_global()
def dossier_sections(dossier, files):
    """The dossier's data step by step, as read."""
    return dossier_data.sections(dossier, files)


bp.add_app_template_global(files.LABELS, "file_types")
bp.add_app_template_filter(files.size_label, "filesize")


def _assistant_url(member):
    """The assistant's step `number` of a dossier (Compléter le dossier, Modifier)."""
    return lambda dossier, number=1: url_for(
        "procedures.step", space_id=member.space_id, dossier_id=dossier.id, number=number
    )


def _file_url(member, dossier):
    """A file's download in the member's space (a mandant's holder space too)."""
    return lambda file: url_for(
        "procedures.attachment", space_id=member.space_id, dossier_id=dossier.id, file_id=file.id
    )


def _thread_context(member, found, message_form=None):
    """The thread's page the URL asks for (the last, with the newest messages, by default)."""
    wanted = page_number() if request.args.get("page") else None
    messages, total, page = dossier_thread.page(found, wanted)
    return {
        "dossier": found,
        "messages": messages,
        "total": total,
        "page": page,
        "per_page": PAGE_SIZE,
        "allowed": dossier_thread.allowed(member, found),
        "message_form": message_form or MessageForm(formdata=None),
        "file_url": _file_url(member, found),
    }


def dossier_page(member, dossier_id, status=200, message_form=None):
    found = dossiers.dossier_for(member, dossier_id)
    return space_page(
        member,
        "home",
        status=status,
        partial="procedures/_dossier.html",
        history=dossiers.history(found),
        statuses=dossiers.STATUSES,
        events=dossiers.EVENTS,
        files=dossier_data.field_files(found),
        receipts=receipts.receipts_of(found),
        mandatary=receipts.mandatary_space(found),
        complement_request=dossier_thread.complement_request(found) if found.status == "complement" else None,
        rejection=dossier_thread.decision_note(found, "rejected") if found.status == "rejected" else None,
        assistant_url=_assistant_url(member),
        **_thread_context(member, found, message_form),
    )


@bp.get(DOSSIER)
@space_view
def dossier(member, dossier_id):
    return dossier_page(member, dossier_id)


# --- The thread -------------------------------------------------------------------------------


def thread_card(member, dossier_id, status=200, message_form=None):
    """The thread alone, for htmx."""
    found = dossiers.dossier_for(member, dossier_id)
    context = _thread_context(member, found, message_form)
    html = render_template("procedures/_thread.html", space=member.space, inline_flashes=True, **context)
    return vary(make_response(html, status))


@bp.post(DOSSIER + "/messages")
@uploads_up_to(dossier_files.MAX_FILE + 1024 * 1024)
@space_view
def send_message(member, dossier_id):
    dossiers.dossier_for(member, dossier_id, "message")  # who may write, before what is written
    form = MessageForm()
    if not form.validate_on_submit():
        return _message_refused(member, dossier_id, form, 422)
    upload = form.attachment.data
    try:
        dossier_thread.send(
            member,
            current_user,
            dossier_id,
            form.body.data,
            upload.read(dossier_files.MAX_FILE + 1) if upload else None,
            upload.filename if upload else "",
        )
    except dossier_thread.AttachmentRefused as refused:
        form.attachment.errors = [refused.message]
        return _message_refused(member, dossier_id, form, refused.status)
    flash(_("Votre message est envoyé à l'administration."), "success")
    if is_htmx():
        return thread_card(member, dossier_id)  # the last page, with the new message
    url = url_for("procedures.dossier", space_id=member.space_id, dossier_id=dossier_id)
    return redirect(url + "#fil", code=303)


def _message_refused(member, dossier_id, form, status):
    if is_htmx():
        return thread_card(member, dossier_id, status, message_form=form)
    return dossier_page(member, dossier_id, status, message_form=form)


# --- Files ------------------------------------------------------------------------------------


@bp.get(DOSSIER + "/accuses/<id:number>")
@space_view
def receipt(member, dossier_id, number):
    found = receipts.receipt_for(member, dossier_id, number)
    name = f"accuse-de-reception-{found.dossier.reference}-{found.number}.pdf"
    return file_response(bytes(found.pdf), "application/pdf", name, download=True)


@bp.get(DOSSIER + "/fichiers/<id:file_id>")
@space_view
def attachment(member, dossier_id, file_id):
    found = dossier_thread.attachment(member, dossier_id, file_id)
    # Sent by a person: a download, never rendered in the portal's origin.
    name = files.download_name(found.name, found.content_type, f"fichier-{found.id}")
    return file_response(bytes(found.content), found.content_type, name, download=True)


# --- Vérifier et signer -----------------------------------------------------------------------


def sign_page(member, dossier_id, status=200, form=None, error=None, refusal=None):
    """The signature's card: everything entered, what is missing, the one-time code. htmx
    posts get the card alone; the rest the space's page around it. A dossier no longer
    editable (signed from another tab meanwhile) gets the card saying so, with its link."""
    try:
        found = dossiers.dossier_for(member, dossier_id, "edit")
    except dossiers.NotEditable as refused:
        return _sign_card(
            member,
            "procedures/_sign_refused.html",
            refused.status,
            dossier_id=dossier_id,
            error=refused.message,
        )
    if form is None or error:  # a new form carries the version shown now
        form = SignForm(formdata=None, data={"version": found.version})
    context = {
        "dossier": found,
        "files": dossier_data.field_files(found),
        "file_url": _file_url(member, found),
        "problems": submission.problems(found),
        "steps": [step.title for step in procedures.definition(found.procedure).steps],
        "form": form,
        "error": error,
        "assistant_url": _assistant_url(member),
    }
    return with_retry_after(_sign_card(member, "procedures/_sign.html", status, **context), refusal)


def _sign_card(member, template, status, **context):
    if is_htmx() and request.method == "POST":
        html = render_template(template, space=member.space, **context)
        return vary(make_response(html, status))
    return space_page(member, "home", status=status, partial=template, **context)


@bp.route(DOSSIER + "/signer", methods=["GET", "POST"])
@space_view
def sign(member, dossier_id):
    if request.method == "GET":
        return sign_page(member, dossier_id)
    form = SignForm()
    if not form.validate_on_submit():
        return sign_page(member, dossier_id, 422, form)
    try:
        signed, _receipt = submission.submit(
            member, current_user, dossier_id, form.version.data, form.otp.data, request.remote_addr
        )
    except (submission.StaleVersion, submission.Incomplete, dossiers.NotEditable) as refused:
        return sign_page(member, dossier_id, refused.status, error=refused.message)
    except (submission.WrongCode, throttle.Throttled, throttle.Locked) as refused:
        form.otp.errors = [refused.message]
        return sign_page(member, dossier_id, refused.status, form, refusal=refused)
    flash(
        _("Votre dossier a été transmis. Sa référence : %(reference)s.", reference=signed.reference),
        "success",
    )
    return htmx_redirect(url_for("procedures.dossier", space_id=member.space_id, dossier_id=signed.id))
