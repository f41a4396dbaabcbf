"""The helpdesk's pages. **Administrations et démarches**: the catalogue, an administration's
page (its services, its procedures), a service's, a procedure's (its definition file
uploaded, replaced), deactivation. **Comptes et espaces**: a person by UserID (space limit,
unlock), an agent unlocked, the deleted spaces restored. **Journal d'audit**: the filtered
entries, the CSV export, the chain verification.

Every form is a real POST: a 303 to the page it acts on, which htmx swaps in place
(HX-Location); a refusal shows the page again, the message beside its field, with 422."""

from flask import Response, abort, flash, request, stream_with_context, url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext

from blueprints.backoffice import bp
from blueprints.backoffice.helpdesk_forms import (
    AdministrationEditForm,
    AdministrationForm,
    ProcedureFileForm,
    ServiceEditForm,
    ServiceForm,
    SpaceLimitForm,
    UnlockForm,
)
from blueprints.backoffice.routes import helpdesk_required
from blueprints.forms import ActionForm, refused_beside
from blueprints.htmx import htmx_location, htmx_redirect, is_htmx, render_page_or_partial
from blueprints.params import MAX_ID, page_number
from blueprints.responses import file_response
from database import PAGE_SIZE
from services import audit_journal, catalogue, helpdesk, procedure_catalogue

# --- Administrations et démarches --------------------------------------------------------------

# Forms beside another of the same fields on their page (ids stay unique).
NEW_SERVICE, AGENT = "service", "agent"

# The rows the helpdesk deactivates, by their URL's word: (catalogue kind, page endpoint, argument).
TOGGLES = {
    "administrations": ("administration", "backoffice.catalogue_administration", "administration_id"),
    "services": ("service", "backoffice.catalogue_service", "service_id"),
    "demarches": ("procedure", "backoffice.catalogue_procedure", "procedure_id"),
}


def catalogue_page(agent, status=200, administration_form=None, procedure_form=None, problems=()):
    page = page_number()
    rows, total = catalogue.catalogue_page(page)
    return render_page_or_partial(
        "backoffice/helpdesk_catalogue.html",
        "backoffice/_helpdesk_catalogue.html",
        status=status,
        agent=agent,
        rows=rows,
        total=total,
        page=page,
        per_page=PAGE_SIZE,
        administration_form=administration_form or AdministrationForm(formdata=None),
        procedure_form=procedure_form or ProcedureFileForm(formdata=None),
        problems=problems,
        inline_flashes=is_htmx(),
    )


def done(message, endpoint, target=None, **values):
    """Said, then the page `endpoint`: swapped into `target` when the form was on that page
    already, else loaded whole (a new row's page)."""
    flash(str(message), "success")
    location = url_for(endpoint, **values)
    return htmx_location(location, target) if target else htmx_redirect(location)


@bp.get("/helpdesk/catalogue", endpoint="catalogue")
@helpdesk_required
def catalogue_list(agent):
    return catalogue_page(agent)


@bp.post("/helpdesk/catalogue/administrations")
@helpdesk_required
def create_administration(agent):
    form = AdministrationForm()
    if form.validate_on_submit():
        try:
            created = catalogue.create_administration(
                agent, form.code.data, form.name.data, form.certification_text.data
            )
        except catalogue.CatalogueInput as refused:
            refused_beside(form[refused.field], refused.message)
            return catalogue_page(agent, refused.status, administration_form=form)
        return done(
            _l("Administration créée : %(code)s.", code=created.code),
            "backoffice.catalogue_administration",
            administration_id=created.id,
        )
    return catalogue_page(agent, 422, administration_form=form)


def administration_page(agent, administration_id, status=200, edit_form=None, service_form=None):
    administration = catalogue.administration_of(administration_id)
    return render_page_or_partial(
        "backoffice/helpdesk_administration.html",
        "backoffice/_helpdesk_administration.html",
        status=status,
        agent=agent,
        administration=administration,
        services=list(administration.services.order_by(catalogue.Service.name)),
        procedures=list(administration.procedures.order_by(catalogue.Procedure.title)),
        edit_form=edit_form or AdministrationEditForm(formdata=None, obj=administration),
        service_form=service_form or ServiceForm(formdata=None, prefix=NEW_SERVICE),
        toggle_form=ActionForm(formdata=None),
        inline_flashes=is_htmx(),
    )


@bp.route("/helpdesk/catalogue/administrations/<id:administration_id>", methods=["GET", "POST"])
@helpdesk_required
def catalogue_administration(agent, administration_id):
    if request.method == "GET":
        return administration_page(agent, administration_id)
    form = AdministrationEditForm()
    if form.validate_on_submit():
        try:
            saved = catalogue.edit_administration(
                agent, administration_id, form.name.data, form.certification_text.data
            )
        except catalogue.CatalogueInput as refused:
            refused_beside(form[refused.field], refused.message)
            return administration_page(agent, administration_id, refused.status, edit_form=form)
        return done(
            _l("Administration enregistrée : %(code)s.", code=saved.code),
            "backoffice.catalogue_administration",
            "#administration",
            administration_id=administration_id,
        )
    return administration_page(agent, administration_id, 422, edit_form=form)


@bp.post("/helpdesk/catalogue/administrations/<id:administration_id>/services")
@helpdesk_required
def create_service(agent, administration_id):
    form = ServiceForm(prefix=NEW_SERVICE)
    if form.validate_on_submit():
        try:
            created = catalogue.create_service(
                agent,
                administration_id,
                form.slug.data,
                form.name.data,
                form.description.data,
                form.requires_certification.data,
                form.methods.data,
            )
        except catalogue.CatalogueInput as refused:
            refused_beside(form[refused.field], refused.message)
            return administration_page(agent, administration_id, refused.status, service_form=form)
        return done(
            _l("Service créé : %(name)s.", name=created.name),
            "backoffice.catalogue_administration",
            "#administration",
            administration_id=administration_id,
        )
    return administration_page(agent, administration_id, 422, service_form=form)


def service_page(agent, service_id, status=200, form=None):
    service = catalogue.service_of(service_id)
    if form is None:
        form = ServiceEditForm(formdata=None, obj=service)
        form.methods.data = [
            m for m, on in (("code", service.accepts_code), ("request", service.accepts_request)) if on
        ]
    return render_page_or_partial(
        "backoffice/helpdesk_service.html",
        "backoffice/_helpdesk_service.html",
        status=status,
        agent=agent,
        service=service,
        form=form,
        toggle_form=ActionForm(formdata=None),
        inline_flashes=is_htmx(),
    )


@bp.route("/helpdesk/catalogue/services/<id:service_id>", methods=["GET", "POST"])
@helpdesk_required
def catalogue_service(agent, service_id):
    if request.method == "GET":
        return service_page(agent, service_id)
    form = ServiceEditForm()
    if form.validate_on_submit():
        try:
            saved = catalogue.edit_service(
                agent,
                service_id,
                form.name.data,
                form.description.data,
                form.requires_certification.data,
                form.methods.data,
            )
        except catalogue.CatalogueInput as refused:
            refused_beside(form[refused.field], refused.message)
            return service_page(agent, service_id, refused.status, form=form)
        return done(
            _l("Service enregistré : %(name)s.", name=saved.name),
            "backoffice.catalogue_service",
            "#service",
            service_id=service_id,
        )
    return service_page(agent, service_id, 422, form=form)


def uploaded(form):
    return form.definition.data.read(procedure_catalogue.MAX_DEFINITION_SIZE + 1)


@bp.post("/helpdesk/catalogue/demarches")
@helpdesk_required
def add_procedure(agent):
    form = ProcedureFileForm()
    if form.validate_on_submit():
        try:
            created = procedure_catalogue.add_procedure(agent, uploaded(form))
        except procedure_catalogue.DefinitionRefused as refused:
            refused_beside(form.definition, refused.message)
            return catalogue_page(agent, refused.status, procedure_form=form, problems=refused.problems)
        return done(
            _l("Démarche ajoutée : %(title)s.", title=created.title),
            "backoffice.catalogue_procedure",
            procedure_id=created.id,
        )
    return catalogue_page(agent, 422, procedure_form=form)


def procedure_page(agent, procedure_id, status=200, form=None, problems=()):
    procedure = catalogue.procedure_of(procedure_id)
    return render_page_or_partial(
        "backoffice/helpdesk_procedure.html",
        "backoffice/_helpdesk_procedure.html",
        status=status,
        agent=agent,
        procedure=procedure,
        form=form or ProcedureFileForm(formdata=None),
        problems=problems,
        toggle_form=ActionForm(formdata=None),
        inline_flashes=is_htmx(),
    )


@bp.route("/helpdesk/catalogue/demarches/<id:procedure_id>", methods=["GET", "POST"])
@helpdesk_required
def catalogue_procedure(agent, procedure_id):
    if request.method == "GET":
        return procedure_page(agent, procedure_id)
    form = ProcedureFileForm()
    if form.validate_on_submit():
        try:
            saved = procedure_catalogue.replace_procedure(agent, procedure_id, uploaded(form))
        except procedure_catalogue.DefinitionRefused as refused:
            refused_beside(form.definition, refused.message)
            return procedure_page(agent, procedure_id, refused.status, form=form, problems=refused.problems)
        return done(
            _l("Définition remplacée : %(title)s.", title=saved.title),
            "backoffice.catalogue_procedure",
            "#procedure",
            procedure_id=procedure_id,
        )
    return procedure_page(agent, procedure_id, 422, form=form)


@bp.get("/helpdesk/catalogue/demarches/<id:procedure_id>/definition.json")
@helpdesk_required
def procedure_definition(agent, procedure_id):
    """The definition as the database holds it: the file to edit and upload again."""
    procedure = catalogue.procedure_of(procedure_id)
    content = procedure_catalogue.definition_file(procedure)
    return file_response(content, "application/json", f"{procedure.slug}.json", download=True)


@bp.post("/helpdesk/catalogue/<kind>/<id:row_id>/activation")
@helpdesk_required
def catalogue_activation(agent, kind, row_id):
    """Désactiver / Réactiver (the button's `active` says which)."""
    if kind not in TOGGLES or not ActionForm().validate_on_submit():
        abort(404 if kind not in TOGGLES else 400)
    model_kind, endpoint, argument = TOGGLES[kind]
    active = request.form.get("active") == "1"
    row, changed = catalogue.set_active(agent, model_kind, row_id, active)
    name = getattr(row, "title", None) or row.name
    if active:
        message = (
            _l("Réactivé : %(name)s.", name=name) if changed else _l("Déjà actif : %(name)s.", name=name)
        )
    else:
        message = (
            _l("Désactivé : %(name)s.", name=name) if changed else _l("Déjà inactif : %(name)s.", name=name)
        )
    target = "#" + model_kind
    return done(message, endpoint, target, **{argument: row_id})


# --- Comptes et espaces -------------------------------------------------------------------------


def accounts_page(agent, status=200, limit_form=None, unlock_form=None, error=None):
    userid = request.values.get("userid", "").strip()[:64]
    person = person_error = None
    if userid:
        try:
            person = helpdesk.find_person(userid)
        except helpdesk.PersonNotFound as refused:
            person_error = refused.message
    page = page_number()
    deleted, total = helpdesk.deleted_spaces(page)
    if person and limit_form is None:
        limit_form = SpaceLimitForm(
            formdata=None, userid=person.user.userid, limit=person.product and person.product.space_limit
        )
    return render_page_or_partial(
        "backoffice/helpdesk_accounts.html",
        "backoffice/_helpdesk_accounts.html",
        status=status,
        agent=agent,
        userid=userid,
        person=person,
        person_error=person_error,
        limit_form=limit_form,
        unlock_form=unlock_form or UnlockForm(formdata=None, prefix=AGENT),
        action_form=ActionForm(formdata=None),
        deleted=deleted,
        total=total,
        page=page,
        per_page=PAGE_SIZE,
        error=error,
        inline_flashes=is_htmx(),
    )


def back_to_accounts(message, userid=None, category="success"):
    flash(str(message), category)
    return htmx_location(
        url_for("backoffice.accounts", **({"userid": userid} if userid else {})), "#accounts"
    )


@bp.get("/helpdesk/comptes")
@helpdesk_required
def accounts(agent):
    return accounts_page(agent)


@bp.post("/helpdesk/comptes/limite")
@helpdesk_required
def space_limit(agent):
    form = SpaceLimitForm()
    if form.validate_on_submit():
        try:
            person = helpdesk.set_space_limit(agent, form.userid.data, form.limit.data)
        except helpdesk.SpaceLimitOutOfRange as refused:
            refused_beside(form.limit, refused.message)
            return accounts_page(agent, refused.status, limit_form=form)
        return back_to_accounts(
            _l(
                "Limite d'espaces professionnels de %(userid)s : %(limit)d.",
                userid=person.user.userid,
                limit=person.product.space_limit,
            ),
            person.user.userid,
        )
    return accounts_page(agent, 422, limit_form=form)


@bp.post("/helpdesk/comptes/deblocage")
@helpdesk_required
def unlock_person(agent):
    form = UnlockForm()
    if not form.validate_on_submit():
        abort(400)
    was_blocked = helpdesk.unlock_person(agent, form.userid.data)
    message = (
        _l("Compte de %(userid)s débloqué : il était bloqué.", userid=form.userid.data)
        if was_blocked
        else _l("Le compte de %(userid)s n'était pas bloqué : rien à débloquer.", userid=form.userid.data)
    )
    return back_to_accounts(message, form.userid.data)


@bp.post("/helpdesk/comptes/agents/deblocage")
@helpdesk_required
def unlock_agent(agent):
    form = UnlockForm(prefix=AGENT)
    if form.validate_on_submit():
        try:
            unlocked, was_blocked = helpdesk.unlock_agent(agent, form.userid.data)
        except helpdesk.AgentNotFound as refused:
            refused_beside(form.userid, refused.message)
            return accounts_page(agent, refused.status, unlock_form=form)
        message = (
            _l("Accès de l'agent %(userid)s débloqué : il était bloqué.", userid=unlocked.userid)
            if was_blocked
            else _l(
                "L'accès de l'agent %(userid)s n'était pas bloqué : rien à débloquer.", userid=unlocked.userid
            )
        )
        return back_to_accounts(message)
    return accounts_page(agent, 422, unlock_form=form)


@bp.post("/helpdesk/espaces/<id:space_id>/restaurer")
@helpdesk_required
def restore_space(agent, space_id):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        space = helpdesk.restore_space(agent, space_id)
    except helpdesk.RESTORE_REFUSALS as refused:
        return accounts_page(agent, refused.status, error=refused.message)
    return back_to_accounts(_l("Espace restauré : %(name)s.", name=space.name))


# --- Journal d'audit ---------------------------------------------------------------------------


def journal_filters():
    """The journal's filters as its form sends them; what does not parse is left out, and said."""
    args, problems = request.args, []
    space = args.get("space", "").strip()
    space_id = None
    if space:
        if space.isdigit() and 0 < int(space) <= MAX_ID:
            space_id = int(space)
        else:
            problems.append(_("Le numéro d'espace est un nombre entier : ce filtre est ignoré."))
    dates = {}
    for name in ("from", "to"):
        value = args.get(name, "").strip()
        if value:
            try:
                dates[name] = audit_journal.parse_day(value)
            except ValueError:
                problems.append(_("Une date s'écrit AAAA-MM-JJ : ce filtre est ignoré."))
    filters = audit_journal.Filters(
        person=args.get("person", "").strip()[:100],
        space_id=space_id,
        action=args.get("action", "").strip()[:81],
        date_from=dates.get("from"),
        date_to=dates.get("to"),
    )
    return filters, problems


def filter_args(filters):
    """The query arguments that give `filters` again (pages, export)."""
    values = {
        "person": filters.person,
        "space": filters.space_id,
        "action": filters.action,
        "from": filters.date_from and filters.date_from.isoformat(),
        "to": filters.date_to and filters.date_to.isoformat(),
    }
    return {name: value for name, value in values.items() if value}


@bp.get("/helpdesk/journal")
@helpdesk_required
def audit(agent):
    filters, problems = journal_filters()
    page = page_number()
    rows, total = audit_journal.entries(filters, page)
    return render_page_or_partial(
        "backoffice/helpdesk_journal.html",
        "backoffice/_helpdesk_journal.html",
        agent=agent,
        rows=rows,
        total=total,
        page=page,
        per_page=PAGE_SIZE,
        filters=filters,
        args=filter_args(filters),
        problems=problems,
        actions=audit_journal.actions(),
        action_form=ActionForm(formdata=None),
        inline_flashes=is_htmx(),
    )


@bp.get("/helpdesk/journal/export.csv")
@helpdesk_required
def audit_export(agent):
    filters, _problems = journal_filters()
    lines = audit_journal.export(agent, filters)
    response = Response(stream_with_context(lines), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="journal-audit.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/helpdesk/journal/verification")
@helpdesk_required
def audit_verify(agent):
    if not ActionForm().validate_on_submit():
        abort(400)
    result = audit_journal.verify(agent)
    if result.intact:
        flash(
            ngettext(
                "Chaîne d'audit intacte : %(num)d entrée vérifiée, la dernière a l'empreinte %(head)s.",
                "Chaîne d'audit intacte : %(num)d entrées vérifiées, la dernière a l'empreinte %(head)s.",
                result.count,
                head=result.head,
            ),
            "success",
        )
    else:
        flash(_("Chaîne d'audit rompue. %(explanation)s", explanation=result.explanation), "error")
    return htmx_location(url_for("backoffice.audit", **request.args), "#journal")
