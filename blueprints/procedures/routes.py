"""Mes démarches: Commencer une démarche and the online assistant, one step per URL. A step
is a full page on direct load and its card alone (#assistant) for htmx; every button is a
submit button of the step's form (Précédent, Enregistrer le brouillon, Suivant, a group's
Ajouter une ligne and Supprimer), so that all of it works without JavaScript."""

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user

from blueprints.htmx import htmx_location, htmx_redirect, is_htmx
from blueprints.params import form_id, page_number, search_query, uploads_up_to
from blueprints.procedures import bp
from blueprints.space_pages import space_page, space_view
from database import PAGE_SIZE
from services import assistant, dossier_files, dossiers

STEP = "/espaces/<id:space_id>/dossiers/<id:dossier_id>/etapes"


def step_url(member, dossier_id, number):
    return url_for("procedures.step", space_id=member.space_id, dossier_id=dossier_id, number=number)


def step_page(member, page, status=200, notice=None, focus=None):
    steps = len(page.definition.steps) + 1  # the signature is the last step, as in the step's heading
    return space_page(
        member,
        "home",
        status=status,
        partial="procedures/_step.html",
        swap="procedures/_step.html",
        page=page,
        notice=notice,
        focus=focus,
        step_title=_("Étape %(num)d sur %(total)d", num=page.step.number, total=steps),  # the title follows
        inline_flashes=is_htmx(),  # a full page shows them in the layout already
    )


@bp.get("/espaces/<id:space_id>/demarches/<slug>")
@space_view
def choose(member, slug):
    """Pour quelle entreprise ? In a space holding mandates for the procedure's service: its
    own company and its mandants (searched and paged in place), then Commencer."""
    query, page = search_query(), page_number()
    return space_page(
        member,
        "home",
        partial="procedures/_start.html",
        swap="procedures/_start.html",
        choice=dossiers.start_choice(member, slug, query, page),
        query=query,
        page=page,
        per_page=PAGE_SIZE,
    )


@bp.post("/espaces/<id:space_id>/demarches/<slug>")
@space_view
def start(member, slug):
    dossier = dossiers.start(member, current_user, slug, mandate_id=form_id("mandate_id"))
    return htmx_redirect(step_url(member, dossier.id, 1))


@bp.get(STEP)
@space_view
def resume(member, dossier_id):
    dossier, definition, _refusal = assistant.open_dossier(member, dossier_id)
    return redirect(step_url(member, dossier.id, assistant.furthest(definition, dossier)))


@bp.get(STEP + "/<int:number>")
@space_view
def step(member, dossier_id, number):
    try:
        return step_page(member, assistant.open_step(member, dossier_id, number))
    except assistant.StepNotReached as elsewhere:
        return redirect(step_url(member, dossier_id, elsewhere.number))


@bp.post(STEP + "/<int:number>")
@uploads_up_to(dossier_files.MAX_PER_DOSSIER + 1024 * 1024)
@space_view
def save_step(member, dossier_id, number):
    uploads = {
        name: (upload.filename, upload.read(dossier_files.MAX_FILE + 1))
        for name, upload in request.files.items()
        if upload.filename
    }
    try:
        saved = assistant.save_step(
            member,
            current_user,
            dossier_id,
            number,
            request.form.get("version", type=int),
            request.form,
            uploads,
            request.form.get("action"),
            to_vault=bool(request.form.get("to_vault")),
        )
    except assistant.StepInvalid as invalid:
        page = assistant.open_step(member, dossier_id, number, invalid.values, invalid.errors)
        return step_page(member, page, status=422)
    except (assistant.StaleVersion, *assistant.READ_ONLY) as refused:
        # The step as it stands, read-only when the dossier no longer is the space's to
        # change (its banner says why: a mandate ended, a transmitted dossier, a reader).
        page = assistant.open_step(member, dossier_id, number)
        return step_page(member, page, refused.status, None if page.refusal else refused.message)
    except assistant.StepNotReached as elsewhere:
        return htmx_location(step_url(member, dossier_id, elsewhere.number), "#assistant")
    return after_save(member, saved)


def after_save(member, saved):
    """Suivant and Précédent go to their step (the signature after the last); the other
    buttons show the same step again, saved."""
    if saved.saved_to_vault:
        flash(
            ngettext(
                "%(num)d information enregistrée dans Mes données professionnelles.",
                "%(num)d informations enregistrées dans Mes données professionnelles.",
                saved.saved_to_vault,
            ),
            "success",
        )
    if saved.go_to is None:
        return htmx_redirect(
            url_for("procedures.sign", space_id=member.space_id, dossier_id=saved.dossier.id)
        )
    if saved.action == "draft":
        flash(
            _("Le brouillon est enregistré. Vous pouvez le reprendre à tout moment depuis Mes démarches."),
            "success",
        )
    url = step_url(member, saved.dossier.id, saved.go_to)
    if saved.action in ("next", "back") or not is_htmx():
        return htmx_location(url + (f"#{saved.focus}" if saved.focus else ""), "#assistant")
    return step_page(member, assistant.open_step(member, saved.dossier.id, saved.go_to), focus=saved.focus)
