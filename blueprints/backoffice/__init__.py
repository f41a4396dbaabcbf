"""The administrations' side: agents log in with their own account and decide the online
certification requests of their administration's services."""

from flask import Blueprint

bp = Blueprint("backoffice", __name__, url_prefix="/back-office")


def init_app(app):
    app.register_blueprint(bp)


from blueprints.backoffice import routes  # noqa: E402,F401
