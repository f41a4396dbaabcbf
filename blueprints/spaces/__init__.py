"""Spaces: Gérer mes espaces, Changer d'espace, the Créer un espace professionnel wizard,
the space home and its tabs, Utilisateurs (members, roles, invitations), Fusionner,
Supprimer."""
from flask import Blueprint
from werkzeug.routing import IntegerConverter

bp = Blueprint("spaces", __name__)


class IdConverter(IntegerConverter):
    """`<id:…>`: a positive row id that fits the database's integer; anything else is a 404
    rather than an overflow in the query."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


@bp.record_once
def register_converter(state):
    state.app.url_map.converters["id"] = IdConverter

from blueprints.spaces import routes  # noqa: E402,F401
