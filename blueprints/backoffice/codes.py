"""Codes d'accès: issue one code (the form), or a batch from a CSV file. Each code is shown
once, in the answer to the POST that issued it (no page shows it again: no-store, like
every page), and goes on a letter in the administration's queue; a batch's codes are
downloadable once as a CSV. A refusal shows the form again, the reasons beside the fields
or per line of the file, with 422."""

from flask_babel import gettext as _

from blueprints.backoffice import bp
from blueprints.backoffice.forms import CodeBatchForm, IssueCodeForm
from blueprints.backoffice.routes import agent_required, gone_page
from blueprints.forms import options, refused_beside
from blueprints.htmx import render_page_or_partial
from blueprints.params import uploads_up_to
from blueprints.responses import file_response
from services import access_codes, code_batches, csv_files, languages

# A form's field for each argument of access_codes.check_code_request.
FIELDS = {
    "company_identifier": "company_identifier",
    "company_name": "company_name",
    "address_lines": "address",
    "service_slug": "service",
    "kind": "kind",
    "activation_days": "activation_days",
    "valid_days": "valid_days",
}


def code_form(agent, submitted=False):
    defaults = {
        "activation_days": access_codes.DEFAULT_ACTIVATION_DAYS,
        "valid_days": access_codes.DEFAULT_VALID_DAYS,
    }
    form = IssueCodeForm() if submitted else IssueCodeForm(formdata=None, data=defaults)
    services = access_codes.issuable_services(agent.administration)
    form.service.choices = options(
        [("", _("Choisissez…"))] + [(s.slug, languages.localized(s, "name")) for s in services.values()]
    )
    return form


def codes_page(agent, partial="backoffice/_codes_single.html", status=200, **context):
    """The page of both forms; for htmx, the card that was posted (`partial`)."""
    context.setdefault("form", code_form(agent))
    context.setdefault("batch_form", CodeBatchForm(formdata=None))
    return render_page_or_partial(
        "backoffice/codes.html",
        partial,
        status=status,
        agent=agent,
        services=access_codes.issuable_services(agent.administration),
        kinds=access_codes.KIND_LABELS,
        activation_days=access_codes.ACTIVATION_DAYS,
        valid_days=access_codes.VALID_DAYS,
        default_activation=access_codes.DEFAULT_ACTIVATION_DAYS,
        default_valid=access_codes.DEFAULT_VALID_DAYS,
        columns=code_batches.COLUMNS,
        max_lines=code_batches.MAX_LINES,
        **context,
    )


@bp.get("/codes-d-acces")
@agent_required
def codes(agent):
    return codes_page(agent)


@bp.post("/codes-d-acces")
@agent_required
def issue_code(agent):
    form = code_form(agent, submitted=True)
    if not form.validate_on_submit():
        return codes_page(agent, status=422, form=form)
    try:
        access_code, code = access_codes.issue_code(
            agent.administration.code,
            form.service.data,
            form.company_identifier.data,
            form.kind.data,
            form.activation_days.data,
            form.valid_days.data,
            form.company_name.data,
            form.address.data.splitlines(),
            actor=agent,
        )
    except access_codes.CodeRequestRefused as refused:
        for argument, message in refused.refusals.items():
            refused_beside(form[FIELDS[argument]], message)
        return codes_page(agent, status=refused.status, form=form)
    return codes_page(agent, issued=access_code, code=code)


@bp.post("/codes-d-acces/lot")
@uploads_up_to(code_batches.MAX_FILE_SIZE + 64 * 1024)
@agent_required
def issue_batch(agent):
    form = CodeBatchForm()
    partial = "backoffice/_codes_batch.html"
    if not form.validate_on_submit():
        return codes_page(agent, partial, status=422, batch_form=form)
    try:
        batch, issued = code_batches.issue_batch(agent, form.file.data.read(code_batches.MAX_FILE_SIZE + 1))
    except code_batches.LinesRefused as refused:
        return codes_page(agent, partial, refused.status, batch_form=form, batch_error=refused)
    except csv_files.FileRefused as refused:
        refused_beside(form.file, refused.message)
        return codes_page(agent, partial, refused.status, batch_form=form)
    return codes_page(agent, partial, batch=batch, issued_codes=issued)


@bp.get("/codes-d-acces/lots/<id:batch_id>.csv")
@agent_required
def batch_csv(agent, batch_id):
    try:
        csv = code_batches.download(agent, batch_id)
    except code_batches.BatchDownloaded as gone:
        back = _("Retour aux codes d'accès")
        return gone_page(agent, "codes", _("Codes déjà téléchargés"), gone, "backoffice.codes", back)
    return file_response(csv.encode(), "text/csv; charset=utf-8", f"codes-lot-{batch_id}.csv", download=True)


@bp.get("/codes-d-acces/exemple.csv")
@agent_required
def example_csv(agent):
    data = code_batches.example_csv(agent.administration).encode()
    return file_response(data, "text/csv; charset=utf-8", "exemple-codes.csv", download=True)
