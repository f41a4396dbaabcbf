"""The public help pages in the footer: Aide, Contacter le Helpdesk, Aspects légaux,
Accessibilité, and Votre avis nous intéresse at the foot of every page."""

from flask import Blueprint

bp = Blueprint("help", __name__)

from blueprints.help import routes  # noqa: E402,F401
