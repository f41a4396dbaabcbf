"""Work in progress: letters of the back-office."""

from flask import render_template

from blueprints.backoffice import bp
from blueprints.backoffice.routes import any_agent_required


@bp.get("/courriers")
@any_agent_required
def letters(agent):
    return render_template("backoffice/layout.html", agent=agent, section="letters")
