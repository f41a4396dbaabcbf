"""A dossier's page: status, history, data, receipts, attachments and the thread; Vérifier
et signer."""

from blueprints.procedures import bp
from blueprints.space_pages import space_page, space_view
from services import dossiers


@bp.get("/espaces/<id:space_id>/dossiers/<id:dossier_id>")
@space_view
def dossier(member, dossier_id):
    found = dossiers.dossier_for(member, dossier_id)
    return space_page(
        member,
        "home",
        partial="procedures/_dossier.html",
        dossier=found,
        history=dossiers.history(found),
        statuses=dossiers.STATUSES,
    )


# Vérifier et signer: where the assistant ends. A stand-in (the dossier's page) until the
# signature's own page.
@bp.get("/espaces/<id:space_id>/dossiers/<id:dossier_id>/signer")
@space_view
def sign(member, dossier_id):
    found = dossiers.dossier_for(member, dossier_id)
    return space_page(
        member,
        "home",
        partial="procedures/_dossier.html",
        dossier=found,
        history=dossiers.history(found),
        statuses=dossiers.STATUSES,
    )
