"""Administrations et démarches, the helpdesk's catalogue: the administrations a page at a
time, an administration's page (its services, its procedures), a service's, a procedure's
(its definition file uploaded, replaced, downloaded), deactivation. Comptes et espaces are
in accounts.py, the Journal d'audit in journal.py.

Every form is a real POST: a 303 to the page it acts on, which htmx swaps in place
(HX-Location), or to a new row's page (loaded whole); a refusal shows the page again, the
message beside its field, with 422."""

from flask import abort, flash, request, url_for
from flask_babel import lazy_gettext as _l

from blueprints.backoffice import bp
from blueprints.backoffice.helpdesk_forms import (
    AdministrationEditForm,
    AdministrationForm,
    ProcedureFileForm,
    ServiceEditForm,
    ServiceForm,
    translated_data,
    translated_texts,
)
from blueprints.backoffice.routes import helpdesk_required
from blueprints.forms import ActionForm, refused_beside
from blueprints.htmx import htmx_location, htmx_redirect, is_htmx, render_page_or_partial
from blueprints.params import page_number
from blueprints.responses import file_response
from database import PAGE_SIZE
from services import catalogue, languages, procedure_catalogue

# The texts of the catalogue given in German and English beside the French.
ADMINISTRATION_TEXTS = ("name", "certification_text")
SERVICE_TEXTS = ("name", "description")

# --- Administrations et démarches --------------------------------------------------------------

# The form to add a service sits beside the administration's own (ids stay unique).
NEW_SERVICE = "service"

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
                agent,
                form.code.data,
                form.name.data,
                form.certification_text.data,
                translated_texts(form, *ADMINISTRATION_TEXTS),
                form.letter_language.data,
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
        edit_form=edit_form
        or AdministrationEditForm(
            formdata=None, obj=administration, **translated_data(administration, *ADMINISTRATION_TEXTS)
        ),
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
                agent,
                administration_id,
                form.name.data,
                form.certification_text.data,
                translated_texts(form, *ADMINISTRATION_TEXTS),
                form.letter_language.data,
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
                translated_texts(form, *SERVICE_TEXTS),
            )
        except catalogue.CatalogueInput as refused:
            refused_beside(form[refused.field], refused.message)
            return administration_page(agent, administration_id, refused.status, service_form=form)
        return done(
            _l("Service créé : %(name)s.", name=languages.localized(created, "name")),
            "backoffice.catalogue_administration",
            "#administration",
            administration_id=administration_id,
        )
    return administration_page(agent, administration_id, 422, service_form=form)


def service_page(agent, service_id, status=200, form=None):
    service = catalogue.service_of(service_id)
    if form is None:
        form = ServiceEditForm(formdata=None, obj=service, **translated_data(service, *SERVICE_TEXTS))
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
                translated_texts(form, *SERVICE_TEXTS),
            )
        except catalogue.CatalogueInput as refused:
            refused_beside(form[refused.field], refused.message)
            return service_page(agent, service_id, refused.status, form=form)
        return done(
            _l("Service enregistré : %(name)s.", name=languages.localized(saved, "name")),
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
            _l("Démarche ajoutée : %(title)s.", title=languages.localized(created, "title")),
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
            _l("Définition remplacée : %(title)s.", title=languages.localized(saved, "title")),
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
    if kind not in TOGGLES:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    model_kind, endpoint, argument = TOGGLES[kind]
    active = request.form.get("active") == "1"
    row, changed = catalogue.set_active(agent, model_kind, row_id, active)
    name = languages.localized(row, "title" if model_kind == "procedure" else "name")
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
