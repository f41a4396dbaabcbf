"""The pages of a space, for every area that has a tab in it (spaces, certifications): the
`space_view` decorator, `space_page` with the tabs, and the `confirmation` of a destructive
action. Refusals a view does not show in a form are answered by the app-wide handler
(blueprints/errors.py)."""

from functools import wraps

from flask import make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from blueprints.htmx import is_htmx, render_page_or_partial, vary
from services import adhesions, communications, spaces

TABS = {
    "home": _l("Mes démarches"),
    "vault": _l("Mes données professionnelles"),
    "communications": _l("Communications"),
    "impots": _l("Mes services impots"),  # in impots spaces only (adhesions.is_impots_space)
    "profile": _l("Mon profil d'espace"),
}


def space_view(view):
    """Login, then the person's membership of the space in the URL (404 for anyone else).
    The view gets the membership (with `.space`); role checks happen in the services."""

    @wraps(view)
    @login_required
    def wrapper(space_id, **kwargs):
        return view(spaces.membership_for(current_user, space_id), **kwargs)

    return wrapper


def space_page(member, tab, status=200, partial=None, swap=None, **context):
    """The space's page with its tabs; htmx tab switches get the tabs and the open one.
    `partial` is the tab's content (spaces/_tab_<tab>.html unless another area's); `swap`,
    what htmx gets instead of the tabs when a view's forms swap less (the assistant's step).
    The Communications tab's label counts the unread ones, on every page that shows the
    tabs: one query, when the tabs are rendered."""
    partial = partial or f"spaces/_tab_{tab}.html"
    return render_page_or_partial(
        "spaces/space.html",
        swap or "spaces/_space_tabs.html",
        status=status,
        member=member,
        space=member.space,
        tab=tab,
        tabs=TABS,
        unread=lambda: communications.unread_count(member),
        impots_tab=lambda: adhesions.is_impots_space(member.space),
        impots_waiting=lambda: adhesions.waiting(member.space),
        tab_partial=partial,
        can=lambda action: spaces.can(member, action),
        **context,
    )


def confirmation(member, tab, key, title, question, cancel, consequence=None):
    """The GET of a destructive action: it asks first and changes nothing. htmx swaps the
    question in place of the link that asked; without JavaScript it is a page of the space.
    Confirmer posts to the same URL, Annuler goes back to `cancel`."""
    context = {
        "confirm_id": f"confirm-{key}",
        "title": title,
        "question": question,
        "consequence": consequence,
        "action": request.path,
        "cancel": cancel,
    }
    if is_htmx():
        return vary(make_response(render_template("_confirm.html", **context)))
    return space_page(member, tab, partial="spaces/_tab_confirm.html", **context)
