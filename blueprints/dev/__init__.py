"""Development-only pages (registered when OUTBOX_VIEWER is on): the mail outbox and the
postal letters, so that a demo or a developer sees what would have been sent."""

from flask import Blueprint

bp = Blueprint("dev", __name__, url_prefix="/dev")

from blueprints.dev import routes  # noqa: E402,F401
