"""The spaces: Gérer mes espaces, Changer d'espace, the private space, the space's home and
tabs, its profile, Supprimer and Fusionner."""

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from blueprints.forms import ActionForm, options
from blueprints.htmx import htmx_redirect, render_page_or_partial
from blueprints.params import page_number, search_query
from blueprints.space_pages import space_page, space_view
from blueprints.spaces import bp
from blueprints.spaces.forms import DeleteForm, MergeForm, SpaceNameForm
from blueprints.templating import translated
from database import PAGE_SIZE
from services import DomainError, catalogue, dossiers, memberships, merge, procedures, spaces


@bp.app_context_processor
def space_context():
    return {"roles": spaces.ROLES}


# --- Gérer mes espaces, Changer d'espace ---------------------------------------------------


@bp.get("/mon-espace")
@login_required
def landing():
    """Where login leads: the private space if there is one, else Gérer mes espaces."""
    space = memberships.landing_space(current_user)
    if space is not None:
        return redirect(url_for("spaces.home", space_id=space.id))
    return redirect(url_for("spaces.manage"))


@bp.get("/espaces")
@login_required
def manage():
    query = search_query()
    rows, total = spaces.my_spaces(current_user, query, kind="professional", page=page_number())
    return render_page_or_partial(
        "spaces/manage.html",
        "spaces/_space_list.html",
        private=spaces.private_space(current_user),
        memberships=rows,
        total=total,
        query=query,
        page=page_number(),
        per_page=PAGE_SIZE,
        invitations=memberships.pending_invitations_for(current_user),
        archived=spaces.archived_spaces(current_user),
        form=ActionForm(),
        list_endpoint="spaces.manage",
        manage=True,
        roles=translated(spaces.ROLES),
    )


@bp.get("/espaces/changer")
@login_required
def switch():
    query = search_query()
    rows, total = spaces.my_spaces(current_user, query, page=page_number())
    return render_page_or_partial(
        "spaces/switch.html",
        "spaces/_space_list.html",
        memberships=rows,
        total=total,
        query=query,
        page=page_number(),
        per_page=PAGE_SIZE,
        list_endpoint="spaces.switch",
        grouped=True,
        roles=translated(spaces.ROLES),
    )


@bp.post("/espaces/prive")
@login_required
def create_private():
    space = spaces.create_private_space(current_user)
    flash(_("Votre espace privé est créé."), "success")
    return htmx_redirect(url_for("spaces.home", space_id=space.id))


# --- The space and its tabs ----------------------------------------------------------------


@bp.get("/espaces/<id:space_id>/bienvenue")
@space_view
def created(member):
    return render_page_or_partial(
        "page.html",
        "spaces/_created.html",
        space=member.space,
        title=_("Vous venez de créer votre espace professionnel"),
    )


@bp.get("/espaces/<id:space_id>")
@space_view
def home(member):
    """Mes démarches: Commencer une démarche, the space's dossiers (searched, paged in place),
    the online services and the news."""
    query, page = search_query(), page_number()
    rows, total = dossiers.listing(member, query, page=page)
    return space_page(
        member,
        "home",
        offers=procedures.offers(member),
        rows=rows,
        total=total,
        query=query,
        page=page,
        per_page=PAGE_SIZE,
        statuses=translated(dossiers.STATUSES),
        editable=dossiers.EDITABLE,
        services=catalogue.search_services(limit=5, without_certification=member.space.is_private),
        news=catalogue.latest_news(),
    )


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


# --- Supprimer, Fusionner ------------------------------------------------------------------


@bp.route("/espaces/<id:space_id>/supprimer", methods=["GET", "POST"])
@space_view
def delete(member):
    spaces.require(member, "delete")
    form = DeleteForm()
    if request.method == "GET":
        return render_page_or_partial(
            "page.html", "spaces/_delete.html", title=_("Supprimer un espace"), form=form, space=member.space
        )
    error = None
    if form.validate_on_submit():
        try:
            spaces.delete_space(member, current_user, form.name.data)
        except spaces.SpaceNameMismatch as invalid:
            error = invalid.message
        else:
            flash(_("L'espace %(space)s est supprimé.", space=member.space.name), "success")
            return htmx_redirect(url_for("spaces.manage"))
    return render_page_or_partial(
        "page.html",
        "spaces/_delete.html",
        status=422,
        title=_("Supprimer un espace"),
        form=form,
        space=member.space,
        error=error,
    )


@bp.route("/espaces/fusionner", methods=["GET", "POST"])
@login_required
def merge_spaces():
    admin_of, _total = spaces.my_spaces(
        current_user, kind="professional", admin_only=True, page=1, per_page=None
    )
    choices = options([(0, _("Choisissez…"))] + [(m.space.id, m.space.name) for m in admin_of])
    form = MergeForm() if request.method == "POST" else MergeForm(request.args, meta={"csrf": False})
    form.source.choices = form.target.choices = choices
    plan = error = None
    status = 200
    if request.method == "POST" or (request.args.get("source") and request.args.get("target")):
        if form.validate():
            try:
                if request.method == "POST":
                    plan = merge.merge(
                        current_user, form.source.data, form.target.data, request.form.to_dict()
                    )
                    flash(
                        _(
                            "L'espace %(source)s a été fusionné dans %(target)s.",
                            source=plan.source.name,
                            target=plan.target.name,
                        ),
                        "success",
                    )
                    return htmx_redirect(url_for("spaces.home", space_id=plan.target.id))
                plan = merge.preview(current_user, form.source.data, form.target.data)
            except DomainError as refused:
                error, status = refused.message, refused.status
                if request.method == "POST" and status == 409:
                    plan = merge.preview(current_user, form.source.data, form.target.data)
        else:
            status = 422
    return render_page_or_partial(
        "page.html",
        "spaces/_merge.html",
        status=status,
        title=_("Fusionner deux espaces professionnels"),
        form=form,
        plan=plan,
        error=error,
        admin_count=len(admin_of),
    )
