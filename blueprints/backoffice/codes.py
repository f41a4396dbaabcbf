"""Work in progress: codes of the back-office."""

from flask import render_template

from blueprints.backoffice import bp
from blueprints.backoffice.routes import agent_required


@bp.get("/codes-d-acces")
@agent_required
def codes(agent):
    return render_template("backoffice/layout.html", agent=agent, section="codes")
