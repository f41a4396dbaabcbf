"""Mes données professionnelles: the tab, Ajouter une information, Modifier, Supprimer (which
asks first). Every form is a real POST (the tab again for htmx, a 303 to it otherwise); a
refused value is said beside its field, with 422."""

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.forms import options, refused_beside
from blueprints.htmx import is_htmx
from blueprints.space_pages import confirmation, space_page, space_view
from blueprints.spaces import bp
from blueprints.spaces.forms import DataAddForm, DataValueForm
from services import spaces, vault as data_vault

EDIT_PREFIX = "edit"


def vault_tab(member, status=200, add_form=None, editing=None, edit_form=None, error=None):
    data = data_vault.vault(member)
    add_form = add_form or DataAddForm(formdata=None)
    add_form.key.choices = {
        data_vault.label(group): options([(key.key, data_vault.label(key.label)) for key in keys])
        for group, keys in data.addable
    }
    return space_page(
        member,
        "vault",
        status=status,
        data=data,
        add_form=add_form,
        editing=editing,
        edit_form=edit_form,
        error=error,
        inline_flashes=is_htmx(),  # a full page shows them in the layout already
    )


def vault_done(member, message):
    flash(message, "success")
    if is_htmx():
        return vault_tab(member)
    return redirect(url_for("spaces.vault", space_id=member.space_id), code=303)


@bp.get("/espaces/<id:space_id>/donnees")
@space_view
def vault(member):
    return vault_tab(member)


@bp.post("/espaces/<id:space_id>/donnees")
@space_view
def add_data(member):
    spaces.require(member, "edit_vault")
    form = DataAddForm()
    if form.validate_on_submit():
        try:
            added = data_vault.add(member, current_user, form.key.data, form.value.data)
        except (spaces.InvalidInput, data_vault.AlreadySaved) as error:
            refused_beside(form[error.field], error.message)
            return vault_tab(member, status=error.status, add_form=form)
        return vault_done(
            member, _("Information enregistrée : %(label)s.", label=data_vault.label(added.key.label))
        )
    return vault_tab(member, status=422, add_form=form)


@bp.route("/espaces/<id:space_id>/donnees/<key>/modifier", methods=["GET", "POST"])
@space_view
def modify_data(member, key):
    current = data_vault.item(member, key)
    if request.method == "GET":
        form = DataValueForm(formdata=None, prefix=EDIT_PREFIX, data={"value": current.display})
        return vault_tab(member, editing=key, edit_form=form)
    form = DataValueForm(prefix=EDIT_PREFIX)
    if form.validate_on_submit():
        try:
            data_vault.modify(member, current_user, key, form.value.data)
        except (spaces.InvalidInput, data_vault.AlreadySaved) as error:
            refused_beside(form[error.field], error.message)
            return vault_tab(member, status=error.status, editing=key, edit_form=form)
        return vault_done(
            member, _("Information modifiée : %(label)s.", label=data_vault.label(current.key.label))
        )
    return vault_tab(member, status=422, editing=key, edit_form=form)


# A destructive action's URL answers GET with its confirmation and POST by doing it.
@bp.route("/espaces/<id:space_id>/donnees/<key>/supprimer", methods=["GET", "POST"])
@space_view
def delete_data(member, key):
    current = data_vault.item(member, key, saved_only=True)
    label = data_vault.label(current.key.label)
    if request.method == "GET":
        return confirmation(
            member,
            "vault",
            "data-" + key.replace(".", "-"),
            _("Supprimer une information"),
            _("Supprimer %(label)s (%(value)s) ?", label=label, value=current.display),
            url_for("spaces.vault", space_id=member.space_id),
            _("La valeur du profil de l'entreprise sera de nouveau affichée.")
            if current.key.company_field
            else None,
        )
    data_vault.delete(member, current_user, key)
    return vault_done(member, _("Information supprimée : %(label)s.", label=label))
