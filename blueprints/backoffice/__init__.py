"""The administrations' side: agents log in with their own account, decide the online
certification requests of their administration's services (routes.py) and process the
dossiers of its procedures (dossiers.py)."""

from flask import Blueprint

bp = Blueprint("backoffice", __name__, url_prefix="/back-office")


def init_app(app):
    app.register_blueprint(bp)


from blueprints.backoffice import dossiers, routes  # noqa: E402,F401
