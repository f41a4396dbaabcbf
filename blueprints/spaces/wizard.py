"""Créer un espace professionnel: each step is a URL that renders a full page on direct load,
its card alone for htmx (which swaps #wizard); where the person may be is the service's
`space_wizard.open_step`."""

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required

from blueprints.auth.forms import TermsForm
from blueprints.forms import refused_beside
from blueprints.htmx import htmx_location, htmx_redirect, render_page_or_partial
from blueprints.params import form_id
from blueprints.spaces import bp
from blueprints.spaces.forms import CompanyForm, SpaceNameForm
from services import auth, space_wizard, spaces

WIZARD_STEPS = {
    "terms": ("spaces.wizard_terms", _l("Conditions générales d'utilisation")),
    "name": ("spaces.wizard_name", _l("Donnez un nom à votre espace")),
    "company": ("spaces.wizard_company", _l("Renseignez les informations de votre entreprise")),
    "review": ("spaces.wizard_review", _l("Vérifiez vos infos d'utilisateurs")),
}


def wizard_page(step, status=200, **context):
    """The step as a full page, or the step's card alone for htmx (it swaps #wizard)."""
    partial = f"spaces/_wizard_{step}.html"
    return render_page_or_partial(
        "page.html",
        partial,
        status=status,
        step=step,
        title=WIZARD_STEPS[step][1],
        steps=WIZARD_STEPS,
        **context,
    )


def go_to_step(step):
    """After a valid step, the next one: swapped into #wizard for htmx, a 303 otherwise."""
    return htmx_location(url_for(WIZARD_STEPS[step][0]), "#wizard")


def go_back_to(step):
    """A step opened out of order goes to where the person actually is."""
    return redirect(url_for(WIZARD_STEPS[step][0]))


@bp.get("/espaces/nouveau")
@login_required
def wizard():
    """Créer un espace professionnel: refused at once when the product has no space left."""
    try:
        spaces.check_space_limit(auth.product_of(current_user))
    except spaces.SpaceLimitReached as error:
        flash(error.message, "helpdesk")  # with the link to the contact form
        return redirect(url_for("spaces.manage"))
    step, _draft = space_wizard.open_step(current_user)
    return go_back_to(step)


@bp.route("/espaces/nouveau/cgu", methods=["GET", "POST"])
@login_required
def wizard_terms():
    form = TermsForm()
    if request.method == "POST" and form.validate_on_submit():
        space_wizard.accept_space_terms(current_user)
        return go_to_step("name")
    status = 422 if request.method == "POST" else 200
    return wizard_page("terms", status=status, form=form)


@bp.route("/espaces/nouveau/nom", methods=["GET", "POST"])
@login_required
def wizard_name():
    step, draft = space_wizard.open_step(current_user, "name")
    if step != "name":
        return go_back_to(step)
    if request.method == "GET":  # before the first POST there is no draft: the proposed name
        data = draft.data if draft else {"name": space_wizard.default_space_name(current_user)}
        return wizard_page("name", form=SpaceNameForm(data=data))
    form = SpaceNameForm()
    if form.validate_on_submit():
        space_wizard.save_step(
            draft or space_wizard.start_draft(current_user), {"name": form.name.data.strip()}, done="name"
        )
        return go_to_step("company")
    return wizard_page("name", status=422, form=form)


@bp.route("/espaces/nouveau/entreprise", methods=["GET", "POST"])
@login_required
def wizard_company():
    step, draft = space_wizard.open_step(current_user, "company")
    if step != "company":
        return go_back_to(step)
    if request.method == "GET":
        return wizard_page("company", form=CompanyForm(data=draft.data), draft=draft)
    form = CompanyForm()
    entered = {key: form[key].data or "" for key in space_wizard.COMPANY_FIELDS}
    if request.form.get("back"):  # Précédent: keep what was typed, valid or not
        space_wizard.save_step(draft, entered, undone="company")
        return go_to_step("name")
    error = None
    if form.validate_on_submit():
        try:
            cleaned = space_wizard.clean_company(entered)
        except space_wizard.InvalidCompany as invalid:
            error = invalid
            for key, message in invalid.errors.items():
                refused_beside(form[key], message)
        else:
            space_wizard.save_step(draft, cleaned, done="company")
            return go_to_step("review")
    space_wizard.save_step(draft, entered, undone="company")  # refresh or back keeps the entries
    return wizard_page("company", status=422, form=form, draft=draft, error=error)


@bp.route("/espaces/nouveau/verification", methods=["GET", "POST"])
@login_required
def wizard_review():
    if request.method == "POST":
        return create_space()
    step, draft = space_wizard.open_step(current_user, "review")
    if step != "review":
        return go_back_to(step)
    return review_page(draft)


def review_page(draft, status=200, error=None):
    return wizard_page(
        "review",
        status=status,
        draft=draft,
        user=current_user,
        legal_forms=dict(space_wizard.LEGAL_FORMS),
        error=error,
    )


def create_space():
    """Créer l'espace. The form names its draft: a second click finds it consumed."""
    try:
        space = space_wizard.create_professional_space(
            current_user, auth.product_of(current_user), form_id("draft")
        )
    except spaces.SpaceLimitReached as error:
        return review_page(space_wizard.draft_for(current_user), status=error.status, error=error.message)
    except space_wizard.WizardGone as error:
        flash(error.message, "warning")
        return htmx_redirect(url_for("spaces.manage"))
    except space_wizard.TermsNotAccepted as error:
        flash(error.message, "warning")
        return htmx_redirect(url_for("spaces.wizard_terms"))
    return htmx_redirect(url_for("spaces.created", space_id=space.id))


@bp.post("/espaces/nouveau/abandonner")
@login_required
def wizard_cancel():
    space_wizard.discard_draft(current_user)
    flash(_("La création de l'espace a été abandonnée."), "info")
    return htmx_redirect(url_for("spaces.manage"))
