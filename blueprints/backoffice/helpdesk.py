"""Work in progress: the helpdesk's pages."""

from flask import render_template

from blueprints.backoffice import bp
from blueprints.backoffice.routes import helpdesk_required


@bp.get("/helpdesk/catalogue")
@helpdesk_required
def catalogue(agent):
    return render_template("backoffice/layout.html", agent=agent, section="catalogue")


@bp.get("/helpdesk/comptes")
@helpdesk_required
def accounts(agent):
    return render_template("backoffice/layout.html", agent=agent, section="accounts")


@bp.get("/helpdesk/journal")
@helpdesk_required
def audit(agent):
    return render_template("backoffice/layout.html", agent=agent, section="audit")
