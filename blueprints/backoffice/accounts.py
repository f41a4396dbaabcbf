"""Comptes et espaces, the helpdesk's: a person found by UserID (the space limit of their
Token, their login's state, Débloquer le compte), an agent unlocked, the deleted spaces
restored. Every form is a real POST: a 303 to the page, which htmx swaps in place; a
refusal shows it again, the message beside its field."""

from flask import abort, flash, request, url_for
from flask_babel import lazy_gettext as _l

from blueprints.backoffice import bp
from blueprints.backoffice.helpdesk_forms import SpaceLimitForm, UnlockForm
from blueprints.backoffice.routes import helpdesk_required
from blueprints.forms import ActionForm, refused_beside
from blueprints.htmx import htmx_location, is_htmx, render_page_or_partial
from blueprints.params import page_number
from database import PAGE_SIZE
from services import helpdesk

# The agent's form sits beside the person's (ids stay unique).
AGENT = "agent"


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


# A deleted space's id: no member opens it (not a space-scoped URL of people's).
@bp.post("/helpdesk/espaces-supprimes/<id:deleted_space_id>/restaurer")
@helpdesk_required
def restore_space(agent, deleted_space_id):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        space = helpdesk.restore_space(agent, deleted_space_id)
    except helpdesk.RESTORE_REFUSALS as refused:
        return accounts_page(agent, refused.status, error=refused.message)
    return back_to_accounts(_l("Espace restauré : %(name)s.", name=space.name))
