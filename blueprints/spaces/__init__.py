"""Spaces: Gérer mes espaces, Changer d'espace, the Créer un espace professionnel wizard,
the space home and its tabs, Utilisateurs (members, roles, invitations), Fusionner,
Supprimer."""
from flask import Blueprint

bp = Blueprint("spaces", __name__)

from blueprints.spaces import routes  # noqa: E402,F401
