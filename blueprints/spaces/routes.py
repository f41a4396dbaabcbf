from functools import wraps

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required

from blueprints.auth.forms import TermsForm
from blueprints.errors import render_error
from blueprints.htmx import htmx_location, htmx_redirect, is_htmx, render_page_or_partial, vary
from blueprints.params import form_id, page_number, search_query
from blueprints.spaces import bp
from blueprints.spaces.forms import (
    ActionForm,
    CompanyForm,
    DeleteForm,
    InviteForm,
    MergeForm,
    RoleForm,
    SpaceNameForm,
    options,
)
from services import DomainError, auth, catalogue, clock, links, merge, spaces


@bp.app_context_processor
def space_context():
    return {"roles": spaces.ROLES}


@bp.errorhandler(DomainError)
def domain_error(error):
    """A refusal the views do not show in a form: its message, its status."""
    return render_error(error.status, error.message)


def space_view(view):
    """Login, then the person's membership of the space in the URL (404 for anyone else).
    The view gets the membership (with `.space`); role checks happen in the services."""

    @wraps(view)
    @login_required
    def wrapper(space_id, **kwargs):
        return view(spaces.membership_for(current_user, space_id), **kwargs)

    return wrapper


# --- Gérer mes espaces, Changer d'espace ---------------------------------------------------


@bp.get("/mon-espace")
@login_required
def landing():
    """Where login leads: the private space if there is one, else Gérer mes espaces."""
    private = spaces.private_space(current_user)
    if private and not spaces.pending_invitations_for(current_user):
        return redirect(url_for("spaces.home", space_id=private.id))
    return redirect(url_for("spaces.manage"))


@bp.get("/espaces")
@login_required
def manage():
    query = search_query()
    memberships, total = spaces.my_spaces(current_user, query, kind="professional", page=page_number())
    return render_page_or_partial(
        "spaces/manage.html", "spaces/_space_list.html",
        private=spaces.private_space(current_user), memberships=memberships, total=total, query=query,
        page=page_number(), per_page=spaces.PAGE_SIZE, invitations=spaces.pending_invitations_for(current_user),
        archived=spaces.archived_spaces(current_user), form=ActionForm(), list_endpoint="spaces.manage", manage=True,
    )


@bp.get("/espaces/changer")
@login_required
def switch():
    query = search_query()
    memberships, total = spaces.my_spaces(current_user, query, page=page_number())
    return render_page_or_partial(
        "spaces/switch.html", "spaces/_space_list.html",
        memberships=memberships, total=total, query=query, page=page_number(), per_page=spaces.PAGE_SIZE,
        list_endpoint="spaces.switch", grouped=True,
    )


@bp.post("/espaces/prive")
@login_required
def create_private():
    space = spaces.create_private_space(current_user)
    flash(_("Votre espace privé est créé."), "success")
    return htmx_redirect(url_for("spaces.home", space_id=space.id))


# --- Créer un espace professionnel ---------------------------------------------------------

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
        "page.html", partial, status=status, step=step,
        title=WIZARD_STEPS[step][1], steps=WIZARD_STEPS, **context,
    )


def go_to_step(step):
    """After a valid step, the next one: swapped into #wizard for htmx, a 303 otherwise."""
    return htmx_location(url_for(WIZARD_STEPS[step][0]), "#wizard")


def _wizard_redirect():
    """A step opened out of order goes to where the person actually is."""
    if spaces.space_terms_needed(current_user):
        return redirect(url_for("spaces.wizard_terms"))
    return redirect(url_for(WIZARD_STEPS[spaces.next_step(spaces.draft_for(current_user))][0]))


@bp.get("/espaces/nouveau")
@login_required
def wizard():
    """Créer un espace professionnel: refused at once when the product has no space left."""
    try:
        spaces.check_space_limit(auth.token_product(current_user))
    except spaces.SpaceLimitReached as error:
        flash(error.message, "error")
        return redirect(url_for("spaces.manage"))
    return _wizard_redirect()


@bp.route("/espaces/nouveau/cgu", methods=["GET", "POST"])
@login_required
def wizard_terms():
    form = TermsForm()
    if request.method == "POST" and form.validate_on_submit():
        spaces.accept_space_terms(current_user)
        return go_to_step("name")
    status = 422 if request.method == "POST" else 200
    return wizard_page("terms", status=status, form=form)


def _draft_or_terms():
    if spaces.space_terms_needed(current_user):
        return None
    return spaces.draft_for(current_user)


@bp.route("/espaces/nouveau/nom", methods=["GET", "POST"])
@login_required
def wizard_name():
    if spaces.space_terms_needed(current_user):
        return _wizard_redirect()
    if request.method == "GET":  # before the first POST there is no draft: the proposed name
        draft = spaces.draft_for(current_user)
        data = draft.data if draft else {"name": spaces.default_space_name(current_user)}
        return wizard_page("name", form=SpaceNameForm(data=data))
    form = SpaceNameForm()
    if form.validate_on_submit():
        spaces.save_step(spaces.start_draft(current_user), {"name": form.name.data.strip()}, done="name")
        return go_to_step("company")
    return wizard_page("name", status=422, form=form)


@bp.route("/espaces/nouveau/entreprise", methods=["GET", "POST"])
@login_required
def wizard_company():
    draft = _draft_or_terms()
    if draft is None or "name" not in draft.data.get("done", []):
        return _wizard_redirect()
    if request.method == "GET":
        return wizard_page("company", form=CompanyForm(data=draft.data), draft=draft)
    form = CompanyForm()
    entered = {key: form[key].data or "" for key in spaces.COMPANY_FIELDS}
    if request.form.get("back"):  # Précédent: keep what was typed, valid or not
        spaces.save_step(draft, entered, undone="company")
        return go_to_step("name")
    error = None
    if form.validate_on_submit():
        try:
            cleaned = spaces.clean_company(entered)
        except spaces.InvalidInput as invalid:
            error = invalid
            for key, message in invalid.errors.items():
                form[key].errors = [*form[key].errors, message]
        else:
            spaces.save_step(draft, cleaned, done="company")
            return go_to_step("review")
    spaces.save_step(draft, entered, undone="company")  # refresh or back keeps the entries
    return wizard_page("company", status=422, form=form, draft=draft, error=error)


@bp.route("/espaces/nouveau/verification", methods=["GET", "POST"])
@login_required
def wizard_review():
    if request.method == "POST":
        return create_space()
    draft = _draft_or_terms()
    if draft is None or spaces.next_step(draft) != "review":
        return _wizard_redirect()
    return review_page(draft)


def review_page(draft, status=200, error=None):
    return wizard_page("review", status=status, draft=draft, user=current_user,
                       legal_forms=dict(spaces.LEGAL_FORMS), error=error)


def create_space():
    """Créer l'espace. The form names its draft: a second click finds it consumed."""
    try:
        space = spaces.create_professional_space(current_user, auth.token_product(current_user), form_id("draft"))
    except spaces.SpaceLimitReached as error:
        return review_page(spaces.draft_for(current_user), status=error.status, error=error.message)
    except spaces.WizardGone as error:
        flash(error.message, "warning")
        return htmx_redirect(url_for("spaces.manage"))
    except spaces.TermsNotAccepted as error:
        flash(error.message, "warning")
        return htmx_redirect(url_for("spaces.wizard_terms"))
    return htmx_redirect(url_for("spaces.created", space_id=space.id))


@bp.post("/espaces/nouveau/abandonner")
@login_required
def wizard_cancel():
    spaces.discard_draft(current_user)
    flash(_("La création de l'espace a été abandonnée."), "info")
    return htmx_redirect(url_for("spaces.manage"))


# --- The space and its tabs ----------------------------------------------------------------

TABS = {
    "home": _l("Mes démarches"),
    "vault": _l("Mes données professionnelles"),
    "communications": _l("Communications"),
    "profile": _l("Mon profil d'espace"),
}


def space_page(member, tab, status=200, partial=None, **context):
    """The space's page with its tabs; htmx tab switches get the tabs and the open one.
    `partial` is the tab's content (spaces/_tab_<tab>.html unless another area's)."""
    partial = partial or f"spaces/_tab_{tab}.html"
    return render_page_or_partial(
        "spaces/space.html", "spaces/_space_tabs.html", status=status, member=member, space=member.space, tab=tab, tabs=TABS,
        tab_partial=partial, can=lambda action: spaces.can(member, action), **context,
    )


def confirmation(member, tab, key, title, question, cancel, consequence=None):
    """The GET of a destructive action: it asks first and changes nothing. htmx swaps the
    question in place of the link that asked; without JavaScript it is a page of the space.
    Confirmer posts to the same URL, Annuler goes back to `cancel`."""
    context = {"confirm_id": f"confirm-{key}", "title": title, "question": question, "consequence": consequence,
               "action": request.path, "cancel": cancel}
    if is_htmx():
        return vary(make_response(render_template("_confirm.html", **context)))
    return space_page(member, tab, partial="spaces/_tab_confirm.html", **context)


@bp.get("/espaces/<id:space_id>/bienvenue")
@space_view
def created(member):
    return render_page_or_partial("page.html", "spaces/_created.html", space=member.space,
                                  title=_("Vous venez de créer votre espace professionnel"))


@bp.get("/espaces/<id:space_id>")
@space_view
def home(member):
    services = catalogue.search_services(limit=5, without_certification=member.space.is_private)
    return space_page(member, "home", services=services, news=catalogue.latest_news())


@bp.get("/espaces/<id:space_id>/donnees")
@space_view
def vault(member):
    return space_page(member, "vault", entries=spaces.vault_entries(member))


@bp.get("/espaces/<id:space_id>/communications")
@space_view
def communications(member):
    return space_page(member, "communications")


@bp.route("/espaces/<id:space_id>/profil", methods=["GET", "POST"])
@space_view
def profile(member):
    form = SpaceNameForm(data={"name": member.space.name})
    if request.method == "POST":
        form = SpaceNameForm()
        if form.validate_on_submit():
            spaces.rename_space(member, current_user, form.name.data)
            flash(_("Le nom de l'espace est enregistré."), "success")
            return htmx_redirect(url_for("spaces.profile", space_id=member.space_id))
        return space_page(member, "profile", status=422, form=form)
    return space_page(member, "profile", form=form)


# --- Utilisateurs ------------------------------------------------------------------------------


def users_tab(member, status=200, invite_form=None, error=None):
    rows, total = spaces.members(member, page_number())
    return space_page(
        member, "users", status=status, rows=rows, total=total, page=page_number(), per_page=spaces.PAGE_SIZE,
        invitations=spaces.pending_invitations(member), invite_form=invite_form or InviteForm(formdata=None),
        error=error, expires_at=spaces.invitation_expires_at, now=clock.now(),
        inline_flashes=is_htmx(),  # a full page shows them in the layout already
    )


def users_done(member, message):
    """After a change on the Utilisateurs tab: the tab again for htmx, a 303 otherwise."""
    flash(message, "success")
    if is_htmx():
        return users_tab(member)
    return redirect(url_for("spaces.users", space_id=member.space_id), code=303)


def users_refused(member, error):
    return users_tab(member, status=error.status, error=error.message)


@bp.get("/espaces/<id:space_id>/utilisateurs")
@space_view
def users(member):
    return users_tab(member)


@bp.post("/espaces/<id:space_id>/utilisateurs/inviter")
@space_view
def invite(member):
    form = InviteForm()
    if not form.validate_on_submit():
        return users_tab(member, status=422, invite_form=form)
    try:
        invitation = spaces.invite(member, current_user, form.email.data, form.role.data)
    except spaces.InvalidInput as error:
        return users_tab(member, status=error.status, invite_form=form, error=error.message)
    return users_done(member, _("Une invitation valable 7 jours a été envoyée à %(email)s.", email=invitation.email))


@bp.post("/espaces/<id:space_id>/invitations/<id:invitation_id>/renvoyer")
@space_view
def resend_invitation(member, invitation_id):
    return invitation_action(member, spaces.resend_invitation, invitation_id, _l(
        "Une nouvelle invitation a été envoyée à %(email)s ; le lien précédent ne fonctionne plus."))


# A destructive action's URL answers GET with its confirmation and POST by doing it (one
# rule for both methods: an oversized id is then a 404, not a 405).
@bp.route("/espaces/<id:space_id>/invitations/<id:invitation_id>/revoquer", methods=["GET", "POST"])
@space_view
def revoke_invitation(member, invitation_id):
    if request.method == "GET":
        invitation = spaces.invitation_to_revoke(member, invitation_id)
        return confirmation(member, "users", f"invitation-{invitation.id}", _("Révoquer une invitation"),
                            _("Révoquer l'invitation de %(email)s ?", email=invitation.email),
                            url_for("spaces.users", space_id=member.space_id),
                            _("Le lien de l'invitation ne fonctionnera plus."))
    return invitation_action(member, spaces.revoke_invitation, invitation_id, _l(
        "L'invitation de %(email)s est révoquée."))


def invitation_action(member, operation, invitation_id, message):
    try:
        invitation = operation(member, current_user, invitation_id)
    except spaces.InvitationNotValid as error:
        return users_refused(member, error)
    return users_done(member, message % {"email": invitation.email})


@bp.post("/espaces/<id:space_id>/membres/<id:membership_id>/role")
@space_view
def change_role(member, membership_id):
    form = RoleForm()
    if not form.validate_on_submit():
        return users_tab(member, status=422, error=_("Choisissez un rôle : Administrateur, Gestionnaire ou Consultation."))
    try:
        target = spaces.change_role(member, current_user, membership_id, form.role.data)
    except (spaces.LastAdmin, spaces.InvalidInput) as error:
        return users_refused(member, error)
    if target.id == member.id and target.role != "admin":  # demoted oneself: the tab changes
        member.role = target.role
    return users_done(member, _("%(name)s a maintenant le rôle %(role)s.", name=target.user.display_name,
                                role=spaces.ROLES[target.role]))


@bp.route("/espaces/<id:space_id>/membres/<id:membership_id>/retirer", methods=["GET", "POST"])
@space_view
def remove_member(member, membership_id):
    if request.method == "GET":
        target = spaces.member_to_remove(member, membership_id)
        return confirmation(member, "users", f"member-{target.id}", _("Retirer un membre"),
                            _("Retirer %(name)s de l'espace ?", name=target.user.display_name),
                            url_for("spaces.users", space_id=member.space_id),
                            _("Cette personne n'aura plus accès à l'espace %(space)s.", space=member.space.name))
    try:
        target = spaces.remove_member(member, current_user, membership_id)
    except (spaces.LastAdmin, spaces.InvalidInput) as error:
        return users_refused(member, error)
    if target.id == member.id:
        flash(_("Vous avez quitté l'espace %(space)s.", space=member.space.name), "success")
        return htmx_redirect(url_for("spaces.manage"))
    return users_done(member, _("%(name)s a été retiré de l'espace.", name=target.user.display_name))


@bp.route("/espaces/<id:space_id>/quitter", methods=["GET", "POST"])
@space_view
def leave(member):
    if request.method == "GET":
        return confirmation(member, "users", "leave", _("Quitter cet espace"),
                            _("Quitter l'espace %(space)s ?", space=member.space.name),
                            url_for("spaces.users", space_id=member.space_id),
                            _("Vous n'y aurez plus accès, à moins d'y être invité à nouveau."))
    try:
        spaces.leave(member, current_user)
    except (spaces.LastAdmin, spaces.InvalidInput) as error:
        return users_refused(member, error)
    flash(_("Vous avez quitté l'espace %(space)s.", space=member.space.name), "success")
    return htmx_redirect(url_for("spaces.manage"))


# --- Invitations received -------------------------------------------------------------------


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token):
    """GET shows the invitation (mail scanners following links must not use it up); POST,
    logged in with the invited address, joins the space."""
    try:
        invitation = spaces.read_invitation(token)
    except links.LinkInvalid as error:
        return invitation_page(status=error.status, error=error.message)
    except (links.LinkExpired, links.LinkUsed) as error:
        return invitation_page(status=error.status, error=_("Cette invitation a expiré ou n'est plus valable. "
                                                             "Demandez à un administrateur de l'espace de vous en "
                                                             "envoyer une nouvelle."))
    if request.method == "GET" or not current_user.is_authenticated:
        return invitation_page(invitation=invitation, token=token, form=ActionForm())
    try:
        spaces.accept_invitation(current_user, token)
    except spaces.WrongAccount as error:
        return invitation_page(status=error.status, invitation=invitation, token=token, form=ActionForm(),
                               error=error.message)
    except (links.LinkUsed, links.LinkExpired) as error:
        return invitation_page(status=error.status, error=error.message)
    flash(_("Vous avez rejoint l'espace %(space)s.", space=invitation.space.name), "success")
    return htmx_redirect(url_for("spaces.home", space_id=invitation.space_id))


def invitation_page(status=200, **context):
    return render_page_or_partial("page.html", "spaces/_invitation.html", status=status,
                                  title=_("Invitation"), **context)


@bp.post("/espaces/invitations/<id:invitation_id>/accepter")
@login_required
def accept_listed_invitation(invitation_id):
    """Accept from Gérer mes espaces an invitation addressed to one's confirmed e-mail."""
    invitation = spaces.accept_my_invitation(current_user, invitation_id)
    flash(_("Vous avez rejoint l'espace %(space)s.", space=invitation.space.name), "success")
    return htmx_redirect(url_for("spaces.home", space_id=invitation.space_id))


# --- Supprimer, Fusionner ------------------------------------------------------------------


@bp.route("/espaces/<id:space_id>/supprimer", methods=["GET", "POST"])
@space_view
def delete(member):
    spaces.require(member, "delete")
    form = DeleteForm()
    if request.method == "GET":
        return render_page_or_partial("page.html", "spaces/_delete.html", title=_("Supprimer un espace"),
                                      form=form, space=member.space)
    error = None
    if form.validate_on_submit():
        try:
            spaces.delete_space(member, current_user, form.name.data)
        except spaces.InvalidInput as invalid:
            error = invalid.message
        else:
            flash(_("L'espace %(space)s est supprimé.", space=member.space.name), "success")
            return htmx_redirect(url_for("spaces.manage"))
    return render_page_or_partial("page.html", "spaces/_delete.html", status=422,
                                  title=_("Supprimer un espace"), form=form, space=member.space, error=error)


@bp.route("/espaces/fusionner", methods=["GET", "POST"])
@login_required
def merge_spaces():
    admin_of, _total = spaces.my_spaces(current_user, kind="professional", admin_only=True, page=1, per_page=None)
    choices = options([(0, _("Choisissez…"))] + [(m.space.id, m.space.name) for m in admin_of])
    form = MergeForm() if request.method == "POST" else MergeForm(request.args, meta={"csrf": False})
    form.source.choices = form.target.choices = choices
    plan = error = None
    status = 200
    if request.method == "POST" or (request.args.get("source") and request.args.get("target")):
        if form.validate():
            try:
                if request.method == "POST":
                    plan = merge.merge(current_user, form.source.data, form.target.data, request.form.to_dict())
                    flash(_("L'espace %(source)s a été fusionné dans %(target)s.", source=plan.source.name,
                            target=plan.target.name), "success")
                    return htmx_redirect(url_for("spaces.home", space_id=plan.target.id))
                plan = merge.preview(current_user, form.source.data, form.target.data)
            except DomainError as refused:
                error, status = refused.message, refused.status
                if request.method == "POST" and status == 409:
                    plan = merge.preview(current_user, form.source.data, form.target.data)
        else:
            status = 422
    return render_page_or_partial("page.html", "spaces/_merge.html", status=status,
                                  title=_("Fusionner deux espaces professionnels"), form=form, plan=plan,
                                  error=error, admin_count=len(admin_of))
