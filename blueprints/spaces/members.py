"""Utilisateurs: the members of a space, their roles, the invitations sent, leaving; and the
invitations received (the mailed link, or the list of Gérer mes espaces)."""

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required

import clock
from blueprints.forms import ActionForm
from blueprints.htmx import htmx_redirect, is_htmx, render_page_or_partial
from blueprints.params import page_number
from blueprints.space_pages import confirmation, space_page, space_view
from blueprints.spaces import bp
from blueprints.spaces.forms import InviteForm, RoleForm
from blueprints.templating import translated
from database import PAGE_SIZE
from services import links, memberships, spaces


def users_tab(member, status=200, invite_form=None, error=None):
    rows, total = memberships.members(member, page_number())
    return space_page(
        member,
        "users",
        status=status,
        rows=rows,
        total=total,
        page=page_number(),
        per_page=PAGE_SIZE,
        invitations=memberships.pending_invitations(member),
        invite_form=invite_form or InviteForm(formdata=None),
        error=error,
        expires_at=memberships.invitation_expires_at,
        now=clock.now(),
        inline_flashes=is_htmx(),  # a full page shows them in the layout already
        roles=translated(spaces.ROLES),
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
        invitation = memberships.invite(member, current_user, form.email.data, form.role.data)
    except spaces.InvalidInput as error:
        return users_tab(member, status=error.status, invite_form=form, error=error.message)
    return users_done(
        member, _("Une invitation valable 7 jours a été envoyée à %(email)s.", email=invitation.email)
    )


@bp.post("/espaces/<id:space_id>/invitations/<id:invitation_id>/renvoyer")
@space_view
def resend_invitation(member, invitation_id):
    return invitation_action(
        member,
        memberships.resend_invitation,
        invitation_id,
        _l("Une nouvelle invitation a été envoyée à %(email)s ; le lien précédent ne fonctionne plus."),
    )


# A destructive action's URL answers GET with its confirmation and POST by doing it (one
# rule for both methods: an oversized id is then a 404, not a 405).
@bp.route("/espaces/<id:space_id>/invitations/<id:invitation_id>/revoquer", methods=["GET", "POST"])
@space_view
def revoke_invitation(member, invitation_id):
    if request.method == "GET":
        invitation = memberships.invitation_to_revoke(member, invitation_id)
        return confirmation(
            member,
            "users",
            f"invitation-{invitation.id}",
            _("Révoquer une invitation"),
            _("Révoquer l'invitation de %(email)s ?", email=invitation.email),
            url_for("spaces.users", space_id=member.space_id),
            _("Le lien de l'invitation ne fonctionnera plus."),
        )
    return invitation_action(
        member, memberships.revoke_invitation, invitation_id, _l("L'invitation de %(email)s est révoquée.")
    )


def invitation_action(member, operation, invitation_id, message):
    try:
        invitation = operation(member, current_user, invitation_id)
    except memberships.InvitationNotValid as error:
        return users_refused(member, error)
    return users_done(member, message % {"email": invitation.email})


@bp.post("/espaces/<id:space_id>/membres/<id:membership_id>/role")
@space_view
def change_role(member, membership_id):
    form = RoleForm()
    if not form.validate_on_submit():
        return users_refused(member, memberships.UnknownRole())
    try:
        target = memberships.change_role(member, current_user, membership_id, form.role.data)
    except (memberships.LastAdmin, spaces.InvalidInput) as error:
        return users_refused(member, error)
    if target.id == member.id and target.role != "admin":  # demoted oneself: the tab changes
        member.role = target.role
    return users_done(
        member,
        _(
            "%(name)s a maintenant le rôle %(role)s.",
            name=target.user.display_name,
            role=spaces.ROLES[target.role],
        ),
    )


@bp.route("/espaces/<id:space_id>/membres/<id:membership_id>/retirer", methods=["GET", "POST"])
@space_view
def remove_member(member, membership_id):
    if request.method == "GET":
        target = memberships.member_to_remove(member, membership_id)
        return confirmation(
            member,
            "users",
            f"member-{target.id}",
            _("Retirer un membre"),
            _("Retirer %(name)s de l'espace ?", name=target.user.display_name),
            url_for("spaces.users", space_id=member.space_id),
            _("Cette personne n'aura plus accès à l'espace %(space)s.", space=member.space.name),
        )
    try:
        target = memberships.remove_member(member, current_user, membership_id)
    except (memberships.LastAdmin, spaces.InvalidInput) as error:
        return users_refused(member, error)
    if target.id == member.id:
        flash(_("Vous avez quitté l'espace %(space)s.", space=member.space.name), "success")
        return htmx_redirect(url_for("spaces.manage"))
    return users_done(member, _("%(name)s a été retiré de l'espace.", name=target.user.display_name))


@bp.route("/espaces/<id:space_id>/quitter", methods=["GET", "POST"])
@space_view
def leave(member):
    if request.method == "GET":
        spaces.require(member, "leave")  # no question about what cannot be done
        return confirmation(
            member,
            "users",
            "leave",
            _("Quitter cet espace"),
            _("Quitter l'espace %(space)s ?", space=member.space.name),
            url_for("spaces.users", space_id=member.space_id),
            _("Vous n'y aurez plus accès, à moins d'y être invité à nouveau."),
        )
    try:
        memberships.leave(member, current_user)
    except (memberships.LastAdmin, spaces.InvalidInput) as error:
        return users_refused(member, error)
    flash(_("Vous avez quitté l'espace %(space)s.", space=member.space.name), "success")
    return htmx_redirect(url_for("spaces.manage"))


# --- Invitations received -------------------------------------------------------------------


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token):
    """GET shows the invitation (mail scanners following links must not use it up); POST,
    logged in with the invited address, joins the space."""
    try:
        invitation = memberships.read_invitation(token)
    except links.LinkInvalid as error:
        return invitation_page(status=error.status, error=error.message)
    except (links.LinkExpired, links.LinkUsed) as error:
        return invitation_page(
            status=error.status,
            error=_(
                "Cette invitation a expiré ou n'est plus valable. "
                "Demandez à un administrateur de l'espace de vous en "
                "envoyer une nouvelle."
            ),
        )
    if request.method == "GET" or not current_user.is_authenticated:
        return invitation_page(invitation=invitation, token=token, form=ActionForm())
    try:
        memberships.accept_invitation(current_user, token)
    except memberships.WrongAccount as error:
        return invitation_page(
            status=error.status, invitation=invitation, token=token, form=ActionForm(), error=error.message
        )
    except (links.LinkUsed, links.LinkExpired) as error:
        return invitation_page(status=error.status, error=error.message)
    flash(_("Vous avez rejoint l'espace %(space)s.", space=invitation.space.name), "success")
    return htmx_redirect(url_for("spaces.home", space_id=invitation.space_id))


def invitation_page(status=200, **context):
    return render_page_or_partial(
        "page.html", "spaces/_invitation.html", status=status, title=_("Invitation"), **context
    )


@bp.post("/espaces/invitations/<id:invitation_id>/accepter")
@login_required
def accept_listed_invitation(invitation_id):
    """Accept from Gérer mes espaces an invitation addressed to one's confirmed e-mail."""
    invitation = memberships.accept_my_invitation(current_user, invitation_id)
    flash(_("Vous avez rejoint l'espace %(space)s.", space=invitation.space.name), "success")
    return htmx_redirect(url_for("spaces.home", space_id=invitation.space_id))
