"""Work in progress: communications of the back-office."""

from flask import render_template

from blueprints.backoffice import bp
from blueprints.backoffice.routes import agent_required


@bp.get("/communications")
@agent_required
def communications(agent):
    return render_template("backoffice/layout.html", agent=agent, section="communications")
