"""Work in progress: contacts of the back-office."""

from flask import render_template

from blueprints.backoffice import bp
from blueprints.backoffice.routes import helpdesk_required


@bp.get("/helpdesk/contacts")
@helpdesk_required
def contacts(agent):
    return render_template("backoffice/layout.html", agent=agent, section="contacts")


@bp.get("/helpdesk/avis")
@helpdesk_required
def feedback(agent):
    return render_template("backoffice/layout.html", agent=agent, section="feedback")
